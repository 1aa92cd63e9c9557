"""The real python-escpos Network transport against the TCP emulator on loopback."""

from __future__ import annotations

from datetime import datetime

import pytest
from escpos.escpos import Escpos
from escpos.printer import Network

from devices.errors import DeviceError, DeviceUnavailable, PaperOut, PrinterError
from devices.printer import (
    EscPosPrinter,
    SimulatedPrinter,
    certificate_print,
    printer_from_config,
    printer_test_page,
    status_report,
)
from devices.printer.status import QUERY_PAPER, QUERY_PRINTER

AT = datetime(2024, 5, 1, 9, 5)

OTHER_DOCUMENTS = {
    "certificate": certificate_print(
        title="营业执照",
        holder="赵六",
        licence_no="91110105MA01ABCD2X",
        issuer="北京市朝阳区市场监督管理局",
        issued_on="2023-06-18",
        verification_code="7K3Q-9XPA",
        verify_url="https://zwfw.example.gov.cn/c/7K3Q9XPA",
        printed_at=AT,
    ),
    "test page": printer_test_page(printer="network", printed_at=AT, columns=32),
    "status report": status_report(
        kiosk_id="kiosk-0042", printed_at=AT, items={"纸张": "将尽", "读卡器": "正常"}
    ),
}


def test_emulator_receives_the_same_job_as_the_simulator(
    network_printer, printer_emulator, sim_printer, receipt
) -> None:
    network_printer.print_document(receipt)
    sim_printer.print_document(receipt)
    (job,) = printer_emulator.wait_for_jobs(1)
    assert job == sim_printer.output
    assert "申请人：张**" in printer_emulator.as_text()


@pytest.mark.parametrize("name", OTHER_DOCUMENTS)
def test_every_kind_of_slip_crosses_tcp_unchanged(network_printer, printer_emulator, name) -> None:
    document = OTHER_DOCUMENTS[name]
    sim = SimulatedPrinter()
    sim.print_document(document)
    network_printer.print_document(document)
    assert printer_emulator.wait_for_jobs(1) == [sim.output]
    assert printer_emulator.as_text() == sim.as_text()


def test_status_is_read_before_the_job_is_sent(network_printer, printer_emulator, receipt) -> None:
    network_printer.print_document(receipt)
    printer_emulator.wait_for_jobs(1)
    assert printer_emulator.virtual.queries == [QUERY_PRINTER, QUERY_PAPER]


def test_paper_out_over_tcp_refuses_and_sends_no_job(
    network_printer, printer_emulator, receipt
) -> None:
    printer_emulator.virtual.paper = "out"
    with pytest.raises(PaperOut):
        network_printer.print_document(receipt)
    assert printer_emulator.virtual.printed == b""
    assert printer_emulator.jobs == []
    assert network_printer.health().paper == "out"


def test_near_end_over_tcp_is_degraded_health(network_printer, printer_emulator) -> None:
    printer_emulator.virtual.paper = "low"
    health = network_printer.health()
    assert (health.state, health.paper) == ("degraded", "low")


def test_gs_r_status_query_reads_the_paper_too(printer_emulator) -> None:
    printer_emulator.virtual.paper = "low"
    transport = Network(printer_emulator.host, printer_emulator.port, timeout=2)
    printer = EscPosPrinter(transport, name="gs-r", status_query="gs-r")
    assert printer.paper() == "low"
    assert printer_emulator.virtual.queries == [b"\x1dr\x01"]


def test_silent_printer_is_unknown_never_paper_ok(printer_emulator, receipt) -> None:
    printer_emulator.answer_status = False
    printer = printer_from_config(printer_emulator.config, timeout=0.2)
    reading = printer.status()
    assert (reading.paper, reading.online, reading.answered) == ("unknown", None, False)
    assert printer.paper() == "unknown"
    health = printer.health()
    assert (health.state, health.paper) == ("unknown", "unknown")
    assert printer_emulator.virtual.queries  # it was asked, and said nothing


def test_python_escpos_would_call_a_silent_printer_full_of_paper() -> None:
    """python-escpos 3.1 turns an empty reply into "paper adequate"; our driver does not.

    An empty read is what pyserial returns after its time-out and what a TCP
    peer that closed gives; both transports are checked with the same fake.
    """
    transport = HalfSilentTransport(answers=[])
    assert transport.paper_status() == 2  # the library: 2 = "paper adequate"
    assert transport.is_online() is False
    ours = EscPosPrinter(transport, name="silent")
    assert ours.paper() == "unknown"
    assert ours.health().paper == "unknown"


def test_silent_printer_refuses_to_print_blind(printer_emulator, receipt) -> None:
    printer_emulator.answer_status = False
    printer = printer_from_config(printer_emulator.config, timeout=0.2)
    with pytest.raises(PrinterError) as caught:
        printer.print_document(receipt)
    assert not isinstance(caught.value, PaperOut)
    assert caught.value.key == "printer.status_unknown"
    assert printer_emulator.virtual.printed == b""
    assert printer_emulator.jobs == []


def test_status_none_prints_without_asking(printer_emulator, receipt) -> None:
    printer_emulator.answer_status = False
    printer = printer_from_config(printer_emulator.config + "?status=none", timeout=0.2)
    printer.print_document(receipt)
    (printed,) = printer_emulator.wait_for_receipts(1)
    assert "申请人：张**" in printed.lines
    assert printer_emulator.virtual.queries == []  # not asked at all: no time-out per job
    health = printer.health()
    assert (health.state, health.paper) == ("unknown", "unknown")


def test_printer_answering_online_but_not_paper_is_unknown(receipt) -> None:
    transport = HalfSilentTransport()
    printer = EscPosPrinter(transport, name="half-silent")
    assert printer.paper() == "unknown"
    health = printer.health()
    assert (health.state, health.paper) == ("unknown", "unknown")
    with pytest.raises(PrinterError, match="paper status"):
        printer.print_document(receipt)
    assert transport.job == b""


class HalfSilentTransport(Escpos):
    """Gives the ``answers`` in turn for each session, then empty reads (by default:
    DLE EOT 1 says online, then nothing, so the paper level stays unread)."""

    def __init__(self, answers: list[bytes] | None = None) -> None:
        Escpos.__init__(self)
        self.answers = [b"\x12"] if answers is None else answers
        self.replies: list[bytes] = list(self.answers)
        self.job = b""

    def open(self) -> None:
        self.replies = list(self.answers)

    def close(self) -> None:
        pass

    def _raw(self, msg: bytes) -> None:
        if not msg.startswith(b"\x10\x04"):
            self.job += msg

    def _read(self) -> bytes:
        return self.replies.pop(0) if self.replies else b""


def test_cover_open_over_tcp_refuses_and_says_why(
    network_printer, printer_emulator, receipt
) -> None:
    printer_emulator.cover_open = True
    reading = network_printer.status()
    assert (reading.online, reading.cover_open, reading.paper) == (False, True, "ok")
    with pytest.raises(PrinterError) as caught:
        network_printer.print_document(receipt)
    assert caught.value.key == "printer.cover_open"
    assert printer_emulator.jobs == []
    assert network_printer.health().state == "fault"
    printer_emulator.cover_open = False
    network_printer.print_document(receipt)
    assert len(printer_emulator.wait_for_jobs(1)) == 1


def test_paper_states_read_back_over_tcp(network_printer, printer_emulator) -> None:
    for level, online in (("ok", True), ("low", True), ("out", False)):
        printer_emulator.paper = level
        reading = network_printer.status()
        assert (reading.paper, reading.online, reading.cover_open) == (level, online, False)


def test_silent_printer_with_gs_r_is_unknown_too(printer_emulator, receipt) -> None:
    printer_emulator.answer_status = False
    printer = printer_from_config(printer_emulator.config + "?status=gs-r", timeout=0.2)
    assert printer.paper() == "unknown"
    with pytest.raises(PrinterError, match="paper status"):
        printer.print_document(receipt)
    assert printer_emulator.virtual.queries == [b"\x1dr\x01"] * 2
    assert printer_emulator.jobs == []


def test_unreachable_network_printer_is_device_unavailable(closed_port, receipt) -> None:
    printer = printer_from_config(f"network:127.0.0.1:{closed_port}")
    with pytest.raises(DeviceUnavailable) as caught:
        printer.print_document(receipt)
    assert caught.value.__cause__ is not None  # the vendor error, for the logs
    with pytest.raises(DeviceUnavailable):
        printer.paper()
    health = printer.health()
    assert (health.state, health.paper) == ("absent", "unknown")


def test_printer_switched_off_between_jobs(network_printer, printer_emulator, receipt) -> None:
    network_printer.print_document(receipt)
    printer_emulator.wait_for_jobs(1)
    printer_emulator.stop()
    with pytest.raises(DeviceError) as caught:
        network_printer.print_document(receipt)
    assert isinstance(caught.value, DeviceUnavailable)
    assert network_printer.health().state == "absent"
