"""One module and one .kv per screen; ``SCREENS`` maps the journey's screens to them."""
