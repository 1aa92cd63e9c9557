"""Chinese renders as glyphs, not as empty boxes (Kivy's own Roboto has no hanzi).

A font without a character draws its "missing glyph" box for it, the same
box for every character. So each character of a sample is rendered alone,
through the renderer the app uses (Kivy's core text, the app's registered
default font): real glyphs all differ and carry ink; boxes are all equal.
The same check run on Roboto must find boxes, or it could not fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kivy
from PIL import Image

SAMPLE = "政务服务自助终端请插入身份证"
ROBOTO = str(Path(kivy.__file__).parent / "data" / "fonts" / "Roboto-Regular.ttf")


def rendered(char: str, font_name: str) -> bytes:
    from kivy.core.text import Label as CoreLabel

    label = CoreLabel(text=char, font_name=font_name, font_size=48)
    label.refresh()
    return bytes(label.texture.pixels)


def looks_like_glyphs(font_name: str) -> bool:
    chars = sorted(set(SAMPLE))
    images = [rendered(char, font_name) for char in chars]
    inked = all(any(px for px in image[3::4]) for image in images)  # alpha somewhere
    return inked and len(set(images)) == len(chars)


def test_the_app_font_draws_chinese_and_the_check_can_fail(kiosk_app: Any) -> None:
    from kivy.core.text import DEFAULT_FONT

    assert looks_like_glyphs(DEFAULT_FONT)
    assert not looks_like_glyphs(ROBOTO), "Roboto has no hanzi: the check must see boxes"


def test_screenshots_hold_text_ink(kiosk_app: Any, tmp_path: Path) -> None:
    """The attract screen's prompt band is not blank: red glyph pixels where the prompt is."""
    from kivy.core.window import Window

    from tests.kiosk.conftest import KioskDriver

    driver = KioskDriver(kiosk_app, None)  # type: ignore[arg-type]
    driver.back_to_attract()
    driver.pump(0.3)
    path = Window.screenshot(name=str(tmp_path / "attract.png"))
    prompt = kiosk_app.root_widget.ids.screens.get_screen("attract").ids.prompt
    x, y = prompt.to_window(prompt.x, prompt.y)
    with Image.open(path) as image:
        height = image.height
        band = image.convert("RGB").crop(
            (int(x), int(height - y - prompt.height), int(x + prompt.width), int(height - y))
        )
        reds = sum(1 for r, g, b in band.getdata() if r > 150 and g < 120 and b < 100)
    assert reds > 500, f"only {reds} red pixels where the prompt is drawn"
