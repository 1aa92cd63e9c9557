"""The citizen's journey as a plain-Python state machine, testable without a window.

    attract -> reading -> (card_rejected | face) -> (referred | home)
    home -> catalog -> guide -> apply -> done -> rate -> thanks
         -> lookup | ask | licences | rate
    any session screen -> end(card_removed | idle_timeout | completed | fault) -> attract
    out_of_service (reader or camera fault, or locked by ops), maintenance (technician)

The Kivy screens render ``Journey`` and call its methods; device I/O (card
read, face attempt, printing) runs in the app, which hands the outcomes in.
Every finished action is journalled here, in the same transaction as its
outbox event (``kiosk.journal``). Online calls go through ``BackendClient``
and run through ``runner`` (the app: a worker thread, result on the UI
thread; tests: at once); a result that comes back after its session ended is
dropped. ``end`` forgets the citizen: the visit, with everything read or
fetched for it, is dropped, and ``on_clear`` tells the screens to do the same.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from devices.card import CardIdentity
from devices.card.auth import CardProof
from devices.health import DeviceHealth
from devices.printer import Document, application_receipt, certificate_print
from kiosk.backend_client import (
    BackendClient,
    BackendError,
    BackendRefused,
    CitizenSession,
    Offline,
)
from kiosk.catalog_cache import Catalog, CatalogCache, ServiceItem
from kiosk.health_reporter import fault_code
from kiosk.journal import Journal
from kiosk.receipts import ReceiptNumbers
from kiosk.strings import t
from mqtt.contract.messages import ApplicationSubmitted
from provisioning import offline_proof
from provisioning.request_signing import KioskSigner

logger = logging.getLogger(__name__)

T = TypeVar("T")
Runner = Callable[[Callable[[], Any], Callable[[Any], None]], None]
CardProver = Callable[[bytes], CardProof]  # ``CardReader.prove``: the card in the reader answers


def run_inline(work: Callable[[], T], done: Callable[[T], None]) -> None:
    done(work())


class Screen(StrEnum):
    ATTRACT = "attract"
    READING = "reading"
    CARD_REJECTED = "card_rejected"
    FACE = "face"
    REFERRED = "referred"
    HOME = "home"
    CATALOG = "catalog"
    GUIDE = "guide"
    APPLY = "apply"
    DONE = "done"
    LOOKUP = "lookup"
    ASK = "ask"
    RATE = "rate"
    THANKS = "thanks"
    LICENCES = "licences"
    OUT_OF_SERVICE = "out_of_service"
    MAINTENANCE = "maintenance"


# Screens where a citizen's session is open (idle timeout and card removal end it).
SESSION_SCREENS = frozenset(Screen) - {
    Screen.ATTRACT,
    Screen.OUT_OF_SERVICE,
    Screen.MAINTENANCE,
}
# Devices without which no citizen can be served.
ESSENTIAL_DEVICES = ("card_reader", "camera")
RATING_REASONS = (
    "slow",
    "guide_unclear",
    "hard_to_use",
    "too_many_visits",
    "materials",
    "attitude",
)
CARD_OUTCOMES = {
    "card.not_authentic": "not_authentic",
    "card.expired": "expired",
    "card.not_yet_valid": "expired",
    "card.removed": "removed",
    "card.unsupported": "unknown_card",
}


@dataclass
class Transaction:
    """One application made in this visit."""

    receipt_no: str
    item_code: str
    item_name: str
    submitted_at: datetime
    print_outcome: str | None = None
    rated: bool = False


@dataclass
class MaterialCheck:
    name: str
    required: bool
    source: str  # the contract's MaterialUsed.source
    licence_no: str | None = None


@dataclass
class Visit:
    """Everything the kiosk knows about the citizen at the screen; dropped whole at ``end``."""

    session_id: uuid.UUID
    started: float
    card_type: str = "social_security"
    identity: CardIdentity | None = None
    face_attempts: int = 0
    face: dict[str, str] | None = None  # the matching attempt's decision and liveness
    backend: CitizenSession | None = None
    item: ServiceItem | None = None
    materials: list[MaterialCheck] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    applications: list[dict[str, Any]] | None = None  # last fetched from the backend
    applications_stale: bool = False
    licences: list[dict[str, Any]] | None = None
    faq: list[dict[str, Any]] = field(default_factory=list)
    rating_target: Transaction | None = None


class Journey:
    def __init__(
        self,
        *,
        kiosk_id: str,
        journal: Journal,
        receipts: ReceiptNumbers,
        catalog_cache: CatalogCache,
        backend: BackendClient,
        runner: Runner = run_inline,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = datetime.now,
        idle_timeout_s: float = 60.0,
        countdown_s: float = 10.0,
        max_face_attempts: int = 3,
        receipt_url: str = "https://zwfw.example.gov.cn/app/#/applications/",
        technician_serials: frozenset[str] = frozenset(),
        card_prover: CardProver | None = None,
        signer: KioskSigner | None = None,
    ) -> None:
        self.kiosk_id = kiosk_id
        self.journal = journal
        self.receipts = receipts
        self.catalog_cache = catalog_cache
        self.catalog: Catalog = catalog_cache.load()
        self.backend = backend
        self.runner = runner
        self.clock = clock
        self.now = now
        self.idle_timeout_s = idle_timeout_s
        self.countdown_s = countdown_s
        self.max_face_attempts = max_face_attempts
        self.receipt_url = receipt_url
        self.technician_serials = technician_serials
        # An offline application's proof: the card answers, the kiosk's enrolled key signs.
        self.card_prover = card_prover
        self.signer = signer

        self.screen = Screen.ATTRACT
        self.notice: str | None = None  # a string key shown on the current screen
        self.offline = False
        self.elderly = False
        self.locked = False
        self.broken: dict[str, str] = {}  # device -> fault code
        self.visit: Visit | None = None
        # Anyone may read the guides without a card (办事指南); applying needs the card.
        self.browsing = False
        self.browsing_item: ServiceItem | None = None
        self.last_activity = clock()
        self.listeners: list[Callable[[Journey], None]] = []
        self.on_clear: list[Callable[[], None]] = []

    # -- plumbing ------------------------------------------------------------------

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener(self)

    def _go(self, screen: Screen, notice: str | None = None) -> None:
        self.screen = screen
        self.notice = notice
        self._changed()

    def _record(self, kind: str, body: dict[str, Any], summary: str) -> None:
        self.journal.record(kind, body, summary)

    def _online(
        self, work: Callable[[], T], done: Callable[[T | None], None], *, session_bound: bool = True
    ) -> None:
        """Run a backend call through the runner; Offline sets the banner and gives None.
        A result for a visit that has ended meanwhile is dropped."""
        visit = self.visit

        def guarded() -> Any:
            try:
                return ("ok", work())
            except Offline as err:
                logger.info("backend offline: %s", str(err))
                return ("offline", None)
            except BackendRefused as err:
                logger.warning("backend refused: %s", str(err))
                return ("refused", None)
            except BackendError as err:
                logger.warning("backend error: %s", str(err))
                return ("offline", None)
            except Exception:  # an answer we cannot use must not leave the citizen waiting
                logger.exception("backend call failed")
                return ("refused", None)

        def finish(result: tuple[str, Any]) -> None:
            if session_bound and (self.visit is None or self.visit is not visit):
                return
            status, value = result
            was = self.offline
            if status == "offline":
                self.offline = True
            elif status == "ok":
                self.offline = False
            done(value)
            if was != self.offline:
                self._changed()

        self.runner(guarded, finish)

    @property
    def in_session(self) -> bool:
        return self.visit is not None

    # -- idle timeout: every touch, card and camera event counts -------------------

    def touch(self) -> None:
        self.last_activity = self.clock()

    def idle_remaining(self) -> float:
        return self.idle_timeout_s - (self.clock() - self.last_activity)

    def countdown(self) -> int | None:
        """Seconds left to show on the banner, or None when no countdown is due."""
        if not (self.in_session or self.browsing) or self.screen is Screen.READING:
            return None
        left = self.idle_remaining()
        return max(0, int(left + 0.999)) if left <= self.countdown_s else None

    def tick(self) -> None:
        """Called about once a second: ends an idle session."""
        if self.idle_remaining() > 0:
            return
        if self.in_session and self.screen is not Screen.READING:
            self.end("idle_timeout")
        elif self.browsing:
            self.stop_browsing()

    # -- card --------------------------------------------------------------------------

    def card_inserted(self) -> bool:
        """A card went in; True if the app should read it now."""
        self.touch()
        if self.browsing:  # a card put in while reading the guides starts a session
            self.stop_browsing()
        if self.screen is not Screen.ATTRACT or self.locked or self.broken_essential():
            return False
        self.visit = Visit(session_id=uuid.uuid4(), started=self.clock())
        self._go(Screen.READING)
        return True

    def card_read(self, identity: CardIdentity, card_type: str = "social_security") -> None:
        self.touch()
        visit = self.visit
        if visit is None or self.screen is not Screen.READING:
            return
        if identity.serial.upper() in self.technician_serials:
            self.visit = None
            self._clear_screens()
            self._go(Screen.MAINTENANCE)
            return
        visit.identity, visit.card_type = identity, card_type
        card = {"session_id": str(visit.session_id), "card_type": card_type}
        holder = identity.masked_id_number
        with self.journal.db.atomic():
            self._record("session.started", {**card, "holder": holder}, "插卡，会话开始")
            self._record("card.read", {**card, "outcome": "ok", "holder": holder}, "读卡成功")
        self._go(Screen.FACE)

    def card_failed(self, key: str) -> None:
        """The read failed; ``key`` is the device error's translation key."""
        self.touch()
        visit = self.visit
        if visit is None:
            return
        outcome = CARD_OUTCOMES.get(key, "unreadable")
        body = {
            "session_id": str(visit.session_id),
            "card_type": visit.card_type,
            "outcome": outcome,
        }
        self._record("card.read", body, f"读卡失败：{outcome}")
        self.visit = None  # no session was started: nothing of the citizen was kept
        self._go(Screen.CARD_REJECTED, key)

    def card_removed(self) -> None:
        self.touch()
        if self.screen is Screen.CARD_REJECTED:
            self._go(Screen.ATTRACT)
        elif self.in_session:
            self.end("referred" if self.screen is Screen.REFERRED else "card_removed")

    # -- face --------------------------------------------------------------------------

    @property
    def face_attempt(self) -> int:
        return (self.visit.face_attempts if self.visit else 0) + 1

    def face_result(
        self, result: dict[str, Any], duration_ms: float, threshold: float | None
    ) -> None:
        """One attempt's outcome (``VerificationResult.to_event()``)."""
        self.touch()
        visit = self.visit
        if visit is None or self.screen is not Screen.FACE or visit.identity is None:
            return
        visit.face_attempts += 1
        decision = result["decision"]
        body = {
            "session_id": str(visit.session_id),
            "decision": decision,
            "distance": result.get("distance"),
            "threshold": threshold,
            "liveness": result.get("liveness", "not_checked"),
            "attempt": visit.face_attempts,
            "duration_ms": int(duration_ms),
        }
        self._record("face.verified", body, f"人脸核验：{decision}")
        if decision == "match":
            visit.face = {"decision": decision, "liveness": body["liveness"]}
            self._open_backend_session(result)
            self._go(Screen.HOME)
        elif visit.face_attempts >= self.max_face_attempts:
            self._go(Screen.REFERRED)
        else:
            self._go(Screen.FACE, f"face.retry.{decision}")

    def _open_backend_session(self, face: dict[str, Any]) -> None:
        visit = self.visit
        assert visit is not None and visit.identity is not None
        identity = visit.identity
        face_body = {k: face.get(k) for k in ("decision", "distance", "liveness")}

        def opened(session: CitizenSession | None) -> None:
            visit.backend = session

        self._online(
            lambda: self.backend.open_session(
                identity.id_number, identity.name, visit.card_type, face_body
            ),
            opened,
        )

    # -- home and its five doors ---------------------------------------------------------

    def go_home(self) -> None:
        self.touch()
        if self.browsing:
            self.stop_browsing()
        elif self.in_session and self.screen not in (Screen.READING, Screen.FACE, Screen.REFERRED):
            self._go(Screen.HOME)

    def browse(self) -> None:
        """查看办事指南 from the attract screen, without a card: catalog and guides only."""
        self.touch()
        if self.screen is Screen.ATTRACT and not self.locked and not self.in_session:
            self.browsing, self.browsing_item = True, None
            self._go(Screen.CATALOG)

    def stop_browsing(self) -> None:
        self.browsing, self.browsing_item = False, None
        self.elderly = False
        self._clear_screens()
        if self.screen in (Screen.CATALOG, Screen.GUIDE):
            self._go(Screen.ATTRACT)

    @property
    def current_item(self) -> ServiceItem | None:
        """The item whose guide is shown: the citizen's, or the passer-by's."""
        return self.visit.item if self.visit is not None else self.browsing_item

    def toggle_elderly(self) -> None:
        self.touch()
        self.elderly = not self.elderly
        self._changed()

    def open_catalog(self) -> None:
        self.touch()
        if self.in_session or self.browsing:
            self._go(Screen.CATALOG)

    def choose_item(self, code: str) -> None:
        self.touch()
        item = self.catalog.item(code)
        if item is None:
            return
        if self.visit is not None:
            self.visit.item = item
        elif self.browsing:
            self.browsing_item = item
        else:
            return
        self._go(Screen.GUIDE)

    def start_application(self) -> None:
        """The form, prefilled from the card; materials met from e-licences where possible."""
        self.touch()
        visit = self.visit
        if visit is None or visit.item is None or not visit.item.kiosk_apply:
            return
        item = visit.item

        def with_licences(licences: list[dict[str, Any]] | None) -> None:
            if licences is not None:
                visit.licences = licences
            visit.materials = self._match_materials(item, visit.licences or [])
            self._go(Screen.APPLY)

        if visit.licences is None and visit.backend is not None:
            token = visit.backend.token
            self._online(lambda: self.backend.licences(token), with_licences)
        else:
            with_licences(None)

    @staticmethod
    def _match_materials(item: ServiceItem, licences: list[dict[str, Any]]) -> list[MaterialCheck]:
        by_type: dict[str, dict[str, Any]] = {}
        for licence in licences:
            for key in ("type_code", "licence_type", "title"):
                if licence.get(key):
                    by_type.setdefault(str(licence[key]), licence)
        checks = []
        for material in item.materials:
            if material.source == "card":
                checks.append(MaterialCheck(material.name, material.required, "card"))
                continue
            licence = by_type.get(material.licence_type or "") or by_type.get(material.name)
            if licence is not None:
                number = licence.get("licence_no") or licence.get("number")
                checks.append(
                    MaterialCheck(
                        material.name, material.required, "e_licence", number and str(number)
                    )
                )
            elif material.source == "form":
                checks.append(MaterialCheck(material.name, material.required, "none"))
            else:
                checks.append(MaterialCheck(material.name, material.required, "paper"))
        return checks

    def submit_application(self, phone: str | None, delivery: str) -> Transaction | None:
        """Confirmed: a receipt number at once, the application into the outbox as an event."""
        self.touch()
        visit = self.visit
        if visit is None or visit.item is None or visit.identity is None:
            return None
        if phone and not (len(phone) == 11 and phone.isdigit() and phone.startswith("1")):
            self._go(Screen.APPLY, "apply.phone_invalid")
            return None
        applicant = self._applicant_reference(visit)
        if not applicant:
            # Offline and never synced: nobody could tell the backend who applied.
            self._go(Screen.APPLY, "apply.cannot_offline")
            return None
        item, identity = visit.item, visit.identity
        now = self.now()
        receipt_no = self.receipts.next(now)
        form = {"delivery": delivery}
        if phone:
            form["phone"] = phone
        body: dict[str, Any] = {
            "session_id": str(visit.session_id),
            "receipt_no": receipt_no,
            "item_code": item.code[:64],
            "item_name": item.name,
            "applicant": identity.masked_id_number,
            "materials": [
                {"name": m.name, "source": m.source}
                | ({"licence_no": m.licence_no} if m.licence_no else {})
                for m in visit.materials
            ],
            "form": form,
        }
        body.update(applicant)
        if "applicant_sealed" in applicant:
            proof = self._offline_proof(visit, receipt_no, body["item_code"], body)
            if proof is not None:
                body["offline_proof"] = proof
        self._record("application.submitted", body, f"提交申请：{item.name}")
        transaction = Transaction(receipt_no, item.code, item.name, now)
        visit.transactions.append(transaction)
        visit.rating_target = transaction
        self._go(Screen.DONE)
        return transaction

    def _applicant_reference(self, visit: Visit) -> dict[str, Any]:
        """Who applied, for the backend: the vouched session's citizen id when online,
        else the identity sealed to the backend's key (only it can open it). Sent only
        once the contract carries these fields."""
        fields = ApplicationSubmitted.model_fields
        if visit.backend is not None and visit.backend.citizen_id and "citizen_id" in fields:
            # The session the backend issued to this kiosk is what proves the citizen is here.
            reference = {"citizen_id": visit.backend.citizen_id}
            if visit.backend.session_ref:
                reference["citizen_session"] = visit.backend.session_ref
            return reference
        key = self.catalog.sealing_public_key_pem
        if key and "applicant_sealed" in fields and visit.identity is not None:
            from provisioning.sealing import seal

            plain = json.dumps({"id_number": visit.identity.id_number, "name": visit.identity.name})
            return {"applicant_sealed": seal(key, plain.encode())}
        return {}

    def _offline_proof(
        self, visit: Visit, receipt_no: str, item_code: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The card's answer to this application's challenge, with the face decision, signed
        by this kiosk (provisioning/offline_proof.py); None if it cannot be had. The
        application goes out either way: without a proof the backend keeps it for a reviewer.
        Runs while the citizen waits on the apply screen: a few card commands (sub-second)."""
        sealed = body["applicant_sealed"]
        why_not = None
        if self.signer is None:
            why_not = "this kiosk has no enrolled key to sign it"
        elif self.card_prover is None:
            why_not = "no card reader to prove the card"
        elif visit.face is None:
            why_not = "no matching face attempt in this visit"
        if why_not is not None:
            logger.warning(
                "offline application %s goes without a card proof: %s; "
                "the backend will keep it unmatched for a reviewer",
                receipt_no,
                why_not,
            )
            return None
        assert self.signer is not None and self.card_prover is not None and visit.face
        challenge = offline_proof.challenge_for(self.kiosk_id, receipt_no, item_code, sealed)
        try:
            card = self.card_prover(challenge)
            return offline_proof.build(
                self.signer,
                kiosk_id=self.kiosk_id,
                receipt_no=receipt_no,
                item_code=item_code,
                applicant_sealed=sealed,
                card_proof=card,
                face_decision=visit.face["decision"],
                liveness=visit.face["liveness"],
                at=self.now().astimezone(UTC),
            )
        except Exception as err:  # never lose the application for want of its proof
            logger.warning(
                "offline application %s goes without a card proof: %s: %s; "
                "the backend will keep it unmatched for a reviewer",
                receipt_no,
                type(err).__name__,
                str(err),
            )
            return None

    def receipt_document(self, transaction: Transaction) -> Document:
        assert self.visit is not None and self.visit.identity is not None
        return application_receipt(
            receipt_no=transaction.receipt_no,
            service=transaction.item_name,
            applicant=self.visit.identity.name,
            submitted_at=transaction.submitted_at,
            verify_url=self.receipt_url + transaction.receipt_no,
        )

    def receipt_printed(
        self, transaction: Transaction, outcome: str, document: str = "receipt"
    ) -> None:
        """``outcome``: printed, out_of_paper or failed (the contract's values)."""
        self.touch()
        visit = self.visit
        if visit is None:
            return
        transaction.print_outcome = outcome
        body = {
            "session_id": str(visit.session_id),
            "document": document,
            "reference": transaction.receipt_no,
            "outcome": outcome,
        }
        self._record("receipt.printed", body, f"打印{document}：{outcome}")
        notice = {"printed": "done.printed", "out_of_paper": "done.paper_out"}.get(
            outcome, "done.print_failed"
        )
        if self.screen is Screen.DONE:
            self._go(Screen.DONE, notice)

    # -- look up --------------------------------------------------------------------------

    def open_lookup(self) -> None:
        self.touch()
        visit = self.visit
        if visit is None:
            return

        def fetched(applications: list[dict[str, Any]] | None) -> None:
            if applications is not None:
                visit.applications, visit.applications_stale = applications, False
            else:
                visit.applications_stale = True
            self._go(Screen.LOOKUP, "lookup.offline" if visit.applications_stale else None)

        if visit.backend is None:
            # No vouched session (offline at face time): try to open it now.
            self._open_backend_session_then(lambda: self._fetch_applications(fetched))
        else:
            self._fetch_applications(fetched)

    def _fetch_applications(self, done: Callable[[list[dict[str, Any]] | None], None]) -> None:
        visit = self.visit
        if visit is None or visit.backend is None:
            done(None)
            return
        token = visit.backend.token
        self._online(lambda: self.backend.applications(token), done)

    def _open_backend_session_then(self, then: Callable[[], None]) -> None:
        visit = self.visit
        if visit is None or visit.identity is None:
            return
        identity = visit.identity

        def opened(session: CitizenSession | None) -> None:
            visit.backend = session
            then()

        face = {"decision": "match", "distance": None, "liveness": "passed"}
        self._online(
            lambda: self.backend.open_session(
                identity.id_number, identity.name, visit.card_type, face
            ),
            opened,
        )

    def lookup_rows(self) -> list[dict[str, Any]]:
        """What the look-up screen lists: this visit's own applications not yet known to
        the backend (待上报), then the backend's (or the last known) list."""
        visit = self.visit
        if visit is None:
            return []
        known = visit.applications or []
        known_numbers = {str(a.get("receipt_no")) for a in known}
        local = [
            {"receipt_no": t.receipt_no, "item_name": t.item_name, "status": "queued"}
            for t in visit.transactions
            if t.receipt_no not in known_numbers
        ]
        return local + known

    # -- ask ------------------------------------------------------------------------------

    def open_ask(self) -> None:
        self.touch()
        if self.in_session:
            self._go(Screen.ASK)
            self.search_faq("")

    def search_faq(self, query: str) -> None:
        self.touch()
        visit = self.visit
        if visit is None:
            return

        def found(results: list[dict[str, Any]] | None) -> None:
            visit.faq = results or []
            if self.screen is Screen.ASK:
                self._go(Screen.ASK, "ask.offline" if results is None else None)

        self._online(lambda: self.backend.faq(query), found)

    def ask_staff(self, topic: str) -> None:
        """没找到答案: a ticket for the department; the answer reaches the citizen later.

        Chinese cannot be typed here, so the topic the citizen looked up says what it is
        about; the answer comes back in the mini-app's messages (and the backend's notice).
        """
        self.touch()
        visit = self.visit
        if visit is None or not topic:
            return
        text = t("ask.staff_question", topic=topic)

        def sent(answer: dict[str, Any] | None) -> None:
            if self.screen is Screen.ASK:
                self._go(Screen.ASK, "ask.offline" if answer is None else "ask.sent")

        def send() -> None:
            if visit.backend is None:  # the session could not be opened: offline or refused
                sent(None)
                return
            token = visit.backend.token
            self._online(lambda: self.backend.ask_question(token, text), sent)

        if visit.backend is None:
            self._open_backend_session_then(send)
        else:
            send()

    # -- rate -----------------------------------------------------------------------------

    def open_rating(self) -> None:
        self.touch()
        visit = self.visit
        if visit is None:
            return
        if visit.rating_target is None or visit.rating_target.rated:
            unrated = [t for t in visit.transactions if not t.rated]
            visit.rating_target = unrated[-1] if unrated else None
        self._go(Screen.RATE)

    def rate(self, level: int, reasons: list[str] | None = None) -> None:
        """一次一评: level 5 (非常满意) .. 1 (非常不满意); reasons only for 1 and 2."""
        self.touch()
        visit = self.visit
        if visit is None or not 1 <= level <= 5:
            return
        target = visit.rating_target
        reasons = [r for r in (reasons or []) if r in RATING_REASONS] if level <= 2 else []
        body: dict[str, Any] = {
            "session_id": str(visit.session_id),
            "level": level,
            "reasons": reasons,
        }
        if target is not None:
            body.update(item_code=target.item_code[:64], receipt_no=target.receipt_no)
            target.rated = True
        if visit.backend is not None and visit.backend.session_ref:
            body["citizen_session"] = visit.backend.session_ref
        self._record("rating.submitted", body, f"评价：{level}")
        visit.rating_target = None
        self._go(Screen.THANKS)

    # -- print a licence -----------------------------------------------------------------

    def open_licences(self) -> None:
        self.touch()
        visit = self.visit
        if visit is None:
            return

        def fetched(licences: list[dict[str, Any]] | None) -> None:
            if licences is not None:
                visit.licences = licences
            self._go(Screen.LICENCES, "print.offline" if licences is None else None)

        if visit.backend is None:
            self._open_backend_session_then(
                lambda: self._online(lambda: self._licences_now(), fetched)
            )
        else:
            self._online(lambda: self._licences_now(), fetched)

    def _licences_now(self) -> list[dict[str, Any]]:
        visit = self.visit
        if visit is None or visit.backend is None:
            raise Offline("no citizen session with the backend")
        return self.backend.licences(visit.backend.token)

    def licence_document(self, licence_no: str, done: Callable[[Document | None], None]) -> None:
        """Fetch the licence's document and build the printable copy (with its QR)."""
        self.touch()
        visit = self.visit
        if visit is None or visit.backend is None or visit.identity is None:
            done(None)
            return
        token, holder = visit.backend.token, visit.identity.name

        def build(doc: dict[str, Any] | None) -> None:
            if doc is None:
                done(None)
                return
            fields = doc.get("fields") or {}
            if isinstance(fields, list):
                fields = {f.get("label", f.get("name")): f.get("value") for f in fields}
            done(
                certificate_print(
                    title=str(doc.get("title", "电子证照")),
                    holder=holder,
                    licence_no=str(doc.get("licence_no", licence_no)),
                    issuer=str(doc.get("issuer") or fields.get("发证机关") or ""),
                    issued_on=str(
                        doc.get("issued_on")
                        or fields.get("发证日期")
                        or fields.get("签发日期")
                        or ""
                    ),
                    verification_code=str(doc.get("verification_code", "")),
                    verify_url=str(doc.get("verify_url", "")),
                    printed_at=self.now(),
                )
            )

        self._online(lambda: self.backend.licence_document(token, licence_no), build)

    def licence_unavailable(self) -> None:
        """The licence's document could not be fetched (offline): nothing was printed."""
        if self.in_session:
            self._go(Screen.LICENCES, "print.offline")

    def licence_printed(self, licence_no: str, outcome: str) -> None:
        self.touch()
        visit = self.visit
        if visit is None:
            return
        body = {
            "session_id": str(visit.session_id),
            "document": "licence",
            "reference": licence_no[:64],
            "outcome": outcome,
        }
        self._record("receipt.printed", body, f"证照打印：{outcome}")
        notice = {"printed": "print.done", "out_of_paper": "done.paper_out"}.get(
            outcome, "done.print_failed"
        )
        self._go(Screen.LICENCES, notice)

    # -- the end of a session -----------------------------------------------------------

    def end(self, reason: str) -> None:
        """End the session: one event, the backend's session closed, every trace dropped."""
        visit = self.visit
        if visit is None:
            return
        if visit.identity is not None:  # a session was started (card read)
            body = {
                "session_id": str(visit.session_id),
                "reason": reason,
                "duration_s": round(max(0.0, self.clock() - visit.started), 1),
            }
            self._record("session.ended", body, f"会话结束：{reason}")
        if visit.backend is not None:
            token = visit.backend.token
            self._online(
                lambda: self.backend.close_session(token), lambda _: None, session_bound=False
            )
        self.visit = None
        self.elderly = False
        self._clear_screens()
        next_screen = (
            Screen.OUT_OF_SERVICE if self.locked or self.broken_essential() else Screen.ATTRACT
        )
        self._go(next_screen, "oos.locked" if self.locked else None)

    def _clear_screens(self) -> None:
        for clear in list(self.on_clear):
            clear()

    # -- devices, ops and technicians ---------------------------------------------------

    def broken_essential(self) -> list[str]:
        return [d for d in ESSENTIAL_DEVICES if d in self.broken]

    def devices_changed(self, readings: dict[str, DeviceHealth]) -> None:
        """Health readings (after ``HealthReporter.poll_once``, which journals the faults)."""
        for name, health in readings.items():
            code = fault_code(health)
            if code is None:
                self.broken.pop(name, None)
            else:
                self.broken[name] = code
        if self.broken_essential():
            if self.in_session:
                self.end("fault")
            elif self.screen is Screen.ATTRACT:
                self._go(Screen.OUT_OF_SERVICE)
        elif self.screen is Screen.OUT_OF_SERVICE and not self.locked:
            self._go(Screen.ATTRACT)

    def lock(self) -> None:
        """Ops locked the kiosk: it finishes nobody's session for them, but takes no new one."""
        self.locked = True
        if not self.in_session and self.screen is not Screen.MAINTENANCE:
            self._go(Screen.OUT_OF_SERVICE, "oos.locked")

    def unlock(self) -> None:
        self.locked = False
        if self.screen is Screen.OUT_OF_SERVICE and not self.broken_essential():
            self._go(Screen.ATTRACT)

    def enter_maintenance(self) -> None:
        if self.in_session:
            self.end("completed")
        self._go(Screen.MAINTENANCE)

    def leave_maintenance(self) -> None:
        if self.screen is Screen.MAINTENANCE:
            locked_or_broken = self.locked or self.broken_essential()
            self._go(Screen.OUT_OF_SERVICE if locked_or_broken else Screen.ATTRACT)

    def sync_catalog(self, done: Callable[[bool], None] | None = None) -> None:
        """Fetch the catalog if it changed (ETag); keep the cached one when offline."""
        etag = self.catalog_cache.etag()

        def stored(fetch: Any) -> None:
            ok = fetch is not None or not self.offline
            if fetch is not None:
                try:
                    self.catalog = self.catalog_cache.store(fetch.body, fetch.etag)
                except (KeyError, TypeError, ValueError) as err:
                    logger.error("catalog from the backend refused: %s", str(err))
                    ok = False
            if done:
                done(ok)

        self._online(lambda: self.backend.fetch_catalog(etag), stored, session_bound=False)
