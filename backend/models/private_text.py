"""Free text is masked on its way into a row: no clear identity or mobile number is stored.

One table says which columns hold text a person typed (a reviewer's reason,
a citizen's question or comment, a department's answer, a kiosk's free-text
field). An attribute ``set`` listener masks each value as it is assigned
(``backend.core.privacy.mask_personal_data``), whichever code path assigns
it, so the row, the object and the response built from it all hold the
masked text. ``Application.form`` is masked the same way as a safety net;
its personal fields are also kept encrypted by backend/services/private_data.py.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from backend.core.privacy import mask_personal_data
from backend.models.application import Application, ApplicationHistory, Notification
from backend.models.faq import Question, QuestionHistory
from backend.models.rating import Rating, RectificationTask

FREE_TEXT: dict[type, tuple[str, ...]] = {
    Application: ("result", "unmatched_reason"),
    ApplicationHistory: ("reason",),
    Notification: ("title", "body"),
    Question: ("text", "answer"),
    QuestionHistory: ("note",),
    Rating: ("comment",),
    RectificationTask: ("resolution",),
}


def _mask_text(target: Any, value: Any, oldvalue: Any, initiator: Any) -> Any:
    return mask_personal_data(value) if isinstance(value, str) else value


def mask_form(form: Any) -> Any:
    """Every string value of a form with the personal numbers in it masked."""
    if not isinstance(form, dict):
        return form
    return {k: mask_personal_data(v) if isinstance(v, str) else v for k, v in form.items()}


def _mask_form(target: Any, value: Any, oldvalue: Any, initiator: Any) -> Any:
    return mask_form(value)


for _model, _columns in FREE_TEXT.items():
    for _column in _columns:
        event.listen(getattr(_model, _column), "set", _mask_text, retval=True)
event.listen(Application.form, "set", _mask_form, retval=True)
