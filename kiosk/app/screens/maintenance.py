"""维护模式 for a technician: self-tests, a printer test page, network, broker, outbox, version."""

from kiosk.app.screens.base import KioskScreen


class MaintenanceScreen(KioskScreen):
    def refresh(self) -> None:
        self.ids.report.text = self.app.maintenance_report()

    def on_pre_enter(self, *args: object) -> None:
        self.refresh()
