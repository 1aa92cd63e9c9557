"""我要问: the FAQ knowledge base, and questions it cannot answer as tickets for a department.

Matching is by shared character pairs (bigrams), which suits Chinese without
a word segmenter: "身份证丢了怎么补办" and "居民身份证丢失了如何补领" share
身份, 份证, 丢失... A question whose best FAQ covers enough of its pairs is
answered at once from the FAQ; any other becomes a ticket routed to the
department of the item it names, or of the nearest FAQ, or the general
service office. A department can transfer a ticket; its answer reaches the
citizen as a notification.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.gov.providers import NotificationProvider
from backend.models import Department, Faq, Question, QuestionHistory, ServiceItem
from backend.models.base import utcnow
from backend.services import notifications

AUTO_ANSWER_SCORE = 0.6
SEARCH_SCORE = 0.25
GENERAL_DEPARTMENT = "zwfwj"  # 政务服务管理局: questions nobody else owns
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_STOP = set("的了吗呢啊吧么我要请问怎么如何什么哪里")


class QuestionRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _bigrams(value: str) -> set[str]:
    chars = [c for c in _NOISE.sub("", value.lower()) if c not in _STOP]
    text = "".join(chars)
    if len(text) < 2:
        return {text} if text else set()
    return {text[i : i + 2] for i in range(len(text) - 1)}


def score(query: str, faq: Faq) -> float:
    """The share of the query's character pairs found in the FAQ's question and keywords."""
    wanted = _bigrams(query)
    if not wanted:
        return 0.0
    return len(wanted & _bigrams(faq.search_text)) / len(wanted)


def load(session: Session, faqs: list[dict[str, Any]]) -> int:
    for f in faqs:
        session.merge(
            Faq(
                id=f["id"],
                department_code=f.get("department"),
                item_code=f.get("item_code"),
                question=f["question"],
                answer=f["answer"],
                search_text=" ".join([f["question"], *f.get("keywords", [])]),
            )
        )
    session.flush()
    return len(faqs)


def search(session: Session, q: str | None, limit: int = 10) -> list[tuple[Faq, float]]:
    faqs = list(session.scalars(select(Faq).order_by(Faq.id)))
    if not q or not q.strip():
        return [(f, 0.0) for f in faqs[:limit]]
    q = q.strip()
    scored = []
    for faq in faqs:
        s = score(q, faq)
        if q in faq.search_text or q in faq.answer:
            s = max(s, 1.0 if q in faq.question else 0.5)
        if s >= SEARCH_SCORE:
            scored.append((faq, s))
    scored.sort(key=lambda pair: (-pair[1], pair[0].id))
    return scored[:limit]


def _route(
    session: Session, text: str, item_code: str | None, department: str | None
) -> tuple[str | None, str]:
    if department:
        if session.get(Department, department) is None:
            raise QuestionRefused(422, f"没有编码为 {department} 的部门")
        return department, "按提问人选择的部门"
    if item_code:
        item = session.get(ServiceItem, item_code)
        if item is None:
            raise QuestionRefused(422, f"没有编码为 {item_code} 的事项")
        return item.department_code, f"按事项“{item.name}”的实施部门"
    best = search(session, text, limit=1)
    if best and best[0][0].department_code:
        return best[0][0].department_code, "按相近问题的所属部门"
    if session.get(Department, GENERAL_DEPARTMENT) is not None:
        return GENERAL_DEPARTMENT, "无法判断所属部门，转政务服务管理局"
    first = session.scalar(select(Department.code).order_by(Department.position).limit(1))
    return first, "无法判断所属部门"


def ask(
    session: Session,
    provider: NotificationProvider | None,
    *,
    citizen_id: str,
    text: str,
    item_code: str | None = None,
    department: str | None = None,
) -> Question:
    text = text.strip()
    if len(text) < 2:
        raise QuestionRefused(422, "请把问题写得具体一些（至少两个字）")
    now = utcnow()
    question = Question(
        id=str(uuid.uuid4()),
        citizen_id=citizen_id,
        text=text,
        item_code=item_code,
        created_at=now,
        state="open",
    )
    best = search(session, text, limit=1)
    if best and best[0][1] >= AUTO_ANSWER_SCORE and not department:
        faq = best[0][0]
        question.state, question.answer, question.faq_id = "answered", faq.answer, faq.id
        question.answered_by, question.answered_at = f"faq:{faq.id}", now
        question.department_code = faq.department_code
        session.add(question)
        session.flush()
        _history(session, question, "answered", faq.department_code, "faq", f"知识库 {faq.id}")
        return question
    question.department_code, why = _route(session, text, item_code, department)
    session.add(question)
    session.flush()
    _history(session, question, "routed", question.department_code, "system", why)
    return question


def _history(
    session: Session,
    question: Question,
    action: str,
    department: str | None,
    actor: str,
    note: str,
) -> None:
    session.add(
        QuestionHistory(
            question_id=question.id,
            action=action,
            department_code=department,
            actor=actor[:120],
            note=note[:500],
            at=utcnow(),
        )
    )


def transfer(
    session: Session, question_id: str, *, department: str, reason: str, actor: str
) -> Question:
    question = _open_question(session, question_id)
    if session.get(Department, department) is None:
        raise QuestionRefused(422, f"没有编码为 {department} 的部门")
    if department == question.department_code:
        raise QuestionRefused(409, "问题已在该部门")
    question.department_code = department
    _history(session, question, "transferred", department, actor, reason)
    session.flush()
    return question


def answer(
    session: Session,
    provider: NotificationProvider | None,
    question_id: str,
    *,
    text: str,
    actor: str,
) -> Question:
    question = _open_question(session, question_id)
    now = utcnow()
    question.state, question.answer, question.answered_by, question.answered_at = (
        "answered",
        text,
        actor,
        now,
    )
    _history(session, question, "answered", question.department_code, actor, "已答复")
    notifications.notify(
        session,
        provider,
        citizen_id=question.citizen_id,
        kind="question",
        title="您的提问已有答复",
        body=text,
        reference=question.id,
    )
    session.flush()
    return question


def _open_question(session: Session, question_id: str) -> Question:
    question = session.get(Question, question_id)
    if question is None:
        raise QuestionRefused(404, f"没有编号为 {question_id} 的提问")
    if question.state != "open":
        raise QuestionRefused(409, "该提问已答复")
    return question


def list_for_citizen(session: Session, citizen_id: str) -> list[Question]:
    return list(
        session.scalars(
            select(Question)
            .where(Question.citizen_id == citizen_id)
            .order_by(Question.created_at.desc())
        )
    )


def list_tickets(
    session: Session, *, department: str | None, state: str | None, limit: int = 100
) -> list[Question]:
    query = select(Question)
    if department:
        query = query.where(Question.department_code == department)
    if state:
        query = query.where(Question.state == state)
    return list(session.scalars(query.order_by(Question.created_at).limit(limit)))


def history(session: Session, question_id: str) -> list[QuestionHistory]:
    return list(
        session.scalars(
            select(QuestionHistory)
            .where(QuestionHistory.question_id == question_id)
            .order_by(QuestionHistory.id)
        )
    )
