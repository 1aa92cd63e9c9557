"""QR codes read from the kiosk's camera: a technician enrols by showing the code's QR.

Sixteen characters typed on a touch screen or a field keyboard are slow and
easy to get wrong; the enrolment code's QR, shown on the ops page or on a
printed sheet, is held in front of the kiosk's own camera instead.
"""

from devices.qr.scanner import decode, scan

__all__ = ["decode", "scan"]
