"""The FastAPI application: routers, error handlers, database sessions."""

from __future__ import annotations

import logging

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError

from backend.api.guards import RequestGuards
from backend.api.routes import (
    app_auth,
    audit_key,
    bindings,
    catalog,
    citizen,
    enrol,
    faq,
    health,
    kiosk,
    kiosk_identity,
    ops_alerts,
    ops_commands,
    ops_dead_letters,
    ops_events,
    ops_fleet,
    ops_kiosks,
    review,
    verify,
)
from backend.app import pages as app_pages
from backend.core.config import Settings, get_settings
from backend.core.db import make_engine, make_sessionmaker
from backend.ops import pages
from backend.services import audit
from backend.services.pagination import BadCursor

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="政务服务自助终端 · fleet backend",
        version="1",
        description="Fleet, events and dead letters of the self-service kiosks.",
        docs_url=None,  # served below from local files: government networks have no CDN
        redoc_url=None,
    )
    engine = make_engine(settings.database_url)
    app.state.settings = settings
    app.state.sessions = make_sessionmaker(
        engine, info={audit.KEYS_INFO: audit.keys_provider(settings.ca_dir)}
    )

    app.add_middleware(
        RequestGuards,
        max_body_bytes=settings.max_body_bytes,
        public_base_url=settings.public_base_url,
    )

    @app.exception_handler(BadCursor)
    async def _bad_cursor(request: Request, exc: BadCursor) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's list of problems, plus one sentence in Chinese naming the fields."""
        fields = sorted(
            {".".join(str(p) for p in e.get("loc", ())[1:]) or "请求" for e in exc.errors()}
        )
        return JSONResponse(
            status_code=422,
            content={
                "detail": jsonable_encoder(exc.errors()),
                "message": f"请求参数有误，请检查：{'、'.join(fields)[:200]}",
            },
        )

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        """The last line: a value the database cannot hold (a NUL in text, a number too
        large) is the client's mistake, not the server's; the checks above should catch it first."""
        logger.warning("database refused a value on %s: %s", request.url.path, exc.orig)
        return JSONResponse(
            status_code=422, content={"detail": "提交的数据中有无法保存的值（如空字符或超长数字）"}
        )

    app.mount(
        "/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger"
    )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} · API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    app.include_router(health.router)
    app.include_router(ops_kiosks.router)
    app.include_router(ops_events.router)
    app.include_router(ops_dead_letters.router)
    app.include_router(ops_alerts.router)
    app.include_router(ops_commands.router)
    app.include_router(ops_fleet.router)
    app.include_router(audit_key.router)
    app.include_router(enrol.router)
    app.include_router(kiosk_identity.router)
    app.include_router(pages.router)
    pages.install_error_pages(app)  # Chinese error pages under /ops/, JSON elsewhere
    app.include_router(app_pages.router)  # /app/: the citizen's mobile mini-app
    for gov in (
        catalog,
        kiosk,
        app_auth,
        citizen,
        bindings,
        faq,
        review,
        verify,
    ):  # government services
        app.include_router(gov.router)
    return app
