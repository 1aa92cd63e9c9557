"""The simulator that ships with the kiosk: prints, reads its sensors, refuses when it must."""

from __future__ import annotations

import logging

import pytest

from devices.errors import DeviceUnavailable, PaperOut, PrinterError
from devices.health import HealthProbe
from devices.printer import Printer, SimulatedPrinter, printer_from_config, render


def test_simulator_is_a_printer_and_a_health_probe(sim_printer) -> None:
    assert isinstance(sim_printer, Printer)
    probe: HealthProbe = sim_printer
    assert probe.health().state == "ok"


def test_printed_receipt_reads_back_with_the_masked_name(sim_printer, receipt) -> None:
    sim_printer.print_document(receipt)
    text = sim_printer.as_text()
    assert sim_printer.output == render(receipt)
    for expected in (
        "受理回执",
        "受理编号：GA202405010001",
        "办理事项：居民身份证换领",
        "申请人：张**",
    ):
        assert expected in text
    assert "受理时间：2024-05-01 14:30" in text
    assert "[二维码: https://zwfw.example.gov.cn/v/GA202405010001]" in text
    assert "张三丰" not in text
    assert text.rstrip().endswith("-")  # the cut line closes the slip


def test_paper_out_refuses_and_prints_nothing(sim_printer, receipt) -> None:
    sim_printer.set_paper("out")
    with pytest.raises(PaperOut) as caught:
        sim_printer.print_document(receipt)
    assert caught.value.key == "printer.paper_out"
    assert sim_printer.output == b""
    health = sim_printer.health()
    assert (health.state, health.paper) == ("fault", "out")


def test_near_end_prints_but_reports_degraded(sim_printer, receipt) -> None:
    sim_printer.set_paper("low")
    health = sim_printer.health()
    assert (health.state, health.paper) == ("degraded", "low")
    assert sim_printer.paper() == "low"
    sim_printer.print_document(receipt)
    assert sim_printer.output == render(receipt)


def test_paper_reloaded_after_running_out_prints_again(sim_printer, receipt) -> None:
    sim_printer.set_paper("out")
    with pytest.raises(PaperOut):
        sim_printer.print_document(receipt)
    sim_printer.set_paper("ok")
    sim_printer.print_document(receipt)
    assert sim_printer.health().state == "ok"


def test_cover_open_refuses_with_its_own_translation_key(sim_printer, receipt) -> None:
    sim_printer.virtual.cover_open = True
    with pytest.raises(PrinterError) as caught:
        sim_printer.print_document(receipt)
    assert not isinstance(caught.value, PaperOut)
    assert caught.value.key == "printer.cover_open"
    assert sim_printer.output == b""
    assert sim_printer.health().state == "fault"


def test_unplugged_printer_is_unavailable_then_recovers(sim_printer, receipt, caplog) -> None:
    caplog.set_level(logging.INFO, logger="devices.printer.driver")
    sim_printer.unplug()
    with pytest.raises(DeviceUnavailable) as caught:
        sim_printer.print_document(receipt)
    assert caught.value.__cause__ is not None
    assert sim_printer.health().state == "absent"
    assert sim_printer.health().state == "absent"
    sim_printer.plug_in()
    assert sim_printer.health().state == "ok"
    lost = [r for r in caplog.records if "unreachable" in r.getMessage()]
    back = [r for r in caplog.records if "reachable again" in r.getMessage()]
    assert (len(lost), len(back)) == (1, 1)  # logged once when lost, once when back


def test_sim_config_sets_the_paper_level() -> None:
    printer = printer_from_config("sim:low")
    assert isinstance(printer, SimulatedPrinter)
    assert printer.health().paper == "low"


def test_simulator_that_stops_answering_refuses_with_status_unknown(sim_printer, receipt) -> None:
    sim_printer.virtual.answer_status = False
    with pytest.raises(PrinterError) as caught:
        sim_printer.print_document(receipt)
    assert caught.value.key == "printer.status_unknown"
    assert sim_printer.output == b""
    assert (sim_printer.health().state, sim_printer.paper()) == ("unknown", "unknown")
