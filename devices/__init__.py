"""The kiosk's devices, each behind a small ``typing.Protocol``.

- ``devices.card``: chip-card reader (PC/SC now; a SAM identity-card reader can be added).
- ``devices.face``: camera frames, face verification against the card photo, liveness.
- ``devices.printer``: ESC/POS receipt printer.

Only this package imports vendor libraries (pyscard, dlib/face_recognition,
cv2, escpos). Every vendor exception is converted at this boundary into the
tree of ``devices.errors``; the UI never sees a vendor exception. Each device
has a simulator beside its real driver (``--sim``), chosen by configuration.
``devices`` imports nothing from ``kiosk``, ``mqtt`` or ``backend``.
"""
