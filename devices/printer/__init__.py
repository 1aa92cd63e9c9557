"""ESC/POS receipt printer: documents as data, one driver, a simulator and an emulator.

    from devices.printer import printer_from_config, application_receipt

    printer = printer_from_config(settings.printer)   # "usb:0416:5011", "network:10.0.0.9", "sim"
    printer.print_document(application_receipt(...)) # PaperOut -> offer SMS

Identity and mobile numbers are masked in every job, whatever the caller put
in the document (``render`` is the boundary, see ``masking``).

Only this package imports python-escpos (and through it pyusb, pyserial).
The TCP emulator lives in ``devices.printer.emulator`` and is imported on
purpose only (tests, ``python -m devices.printer.emulator``).
"""

from .documents import (
    Document,
    Line,
    application_receipt,
    certificate_print,
    mask_name,
    printer_test_page,
    status_report,
)
from .driver import EscPosPrinter
from .factory import printer_from_config
from .masking import mask_personal_numbers
from .protocol import Printer
from .render import render
from .simulator import SimulatedPrinter
from .status import PaperLevel, PrinterStatus

__all__ = [
    "Document",
    "EscPosPrinter",
    "Line",
    "PaperLevel",
    "Printer",
    "PrinterStatus",
    "SimulatedPrinter",
    "application_receipt",
    "certificate_print",
    "mask_name",
    "mask_personal_numbers",
    "printer_from_config",
    "printer_test_page",
    "render",
    "status_report",
]
