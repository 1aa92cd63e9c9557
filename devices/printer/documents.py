"""What the kiosk prints, described as plain data.

The UI never builds printer commands: it fills a ``Document`` (usually through
one of the builders below) and hands it to a ``Printer``, which renders it for
its paper. The builders fix the wording of each kind of slip in one place, and
mask personal data before it can reach paper.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Line:
    """One "label：value" row of a slip."""

    label: str
    value: str


@dataclass(frozen=True)
class Document:
    """A slip: big title, rows, an optional QR code with its caption, footer lines."""

    title: str
    lines: tuple[Line, ...] = ()
    qr: str | None = None
    qr_caption: str | None = None
    footer: tuple[str, ...] = field(default_factory=tuple)
    subtitle: str | None = None


def mask_name(name: str) -> str:
    """Keep the first character of a name, star the rest: 张三 -> 张*, 李小明 -> 李**.

    A receipt can be left on the kiosk or thrown away; the applicant recognises
    their own surname, a stranger learns nothing more.
    """
    name = name.strip()
    if len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1)


def application_receipt(
    *,
    receipt_no: str,
    service: str,
    applicant: str,
    submitted_at: datetime,
    verify_url: str,
    office: str | None = None,
) -> Document:
    """受理回执: proof that an application was accepted at the kiosk.

    ``applicant`` is the full name; it is masked here so no caller can forget.
    """
    lines = [
        Line("受理编号", receipt_no),
        Line("办理事项", service),
        Line("申请人", mask_name(applicant)),
        Line("受理时间", submitted_at.strftime(TIME_FORMAT)),
    ]
    if office:
        lines.append(Line("受理单位", office))
    return Document(
        title="受理回执",
        lines=tuple(lines),
        qr=verify_url,
        qr_caption="扫码查询办理进度",
        footer=("请妥善保管本回执", "凭受理编号可查询办理进度"),
    )


def certificate_print(
    *,
    title: str,
    holder: str,
    licence_no: str,
    issuer: str,
    issued_on: str,
    verification_code: str,
    verify_url: str,
    printed_at: datetime,
) -> Document:
    """证照打印: a printed copy of a certificate or licence, checkable by anyone.

    The verification code and QR code let a third party confirm the copy
    against the issuing system, which is what gives a thermal copy any value.
    """
    return Document(
        title=title,
        subtitle="（证照打印件）",
        lines=(
            Line("证照编号", licence_no),
            Line("持证人", mask_name(holder)),
            Line("发证机关", issuer),
            Line("发证日期", issued_on),
            Line("核验码", verification_code),
            Line("打印时间", printed_at.strftime(TIME_FORMAT)),
        ),
        qr=verify_url,
        qr_caption="扫码核验真伪",
        footer=("本打印件经核验码核验后有效",),
    )


#: Characters that exercise the font: common hanzi, full-width punctuation, a
#: four-byte GB18030 character (㐀, CJK extension A) and ASCII.
CHARSET_SAMPLE = ("政务服务自助终端", "，。：；！？（）【】", "㐀 4字节字符", "ABC abc 0123456789")


def printer_test_page(*, printer: str, printed_at: datetime, columns: int) -> Document:
    """打印机测试页: fonts, width and QR code, for a technician at installation."""
    ruler = ("0123456789" * ((columns + 9) // 10))[:columns]
    return Document(
        title="打印机测试页",
        lines=(
            Line("打印机", printer),
            Line("每行字数", f"{columns}"),
            Line("时间", printed_at.strftime(TIME_FORMAT)),
        ),
        qr="TEST-PAGE-" + printed_at.strftime("%Y%m%d%H%M%S"),
        qr_caption="二维码测试",
        footer=(ruler, *CHARSET_SAMPLE),
    )


def status_report(
    *,
    kiosk_id: str,
    printed_at: datetime,
    items: Mapping[str, str] | Iterable[tuple[str, str]],
) -> Document:
    """设备状态报告: what a technician reads off the kiosk (devices, versions, counters)."""
    pairs = items.items() if isinstance(items, Mapping) else items
    return Document(
        title="设备状态报告",
        lines=(
            Line("终端编号", kiosk_id),
            Line("时间", printed_at.strftime(TIME_FORMAT)),
            *(Line(k, v) for k, v in pairs),
        ),
        footer=("仅供运维人员使用",),
    )
