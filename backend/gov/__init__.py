"""Government services: the rules (state machine, 秒批), keys and providers (SMS, notices)."""
