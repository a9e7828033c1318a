"""The built customer app, served by the API process at /app.

The app is a single-page application: a path under /app that is not a built file
answers index.html, so the client-side router can show that screen after a reload.
The build itself (`make frontend`, run by `make run`) writes zhangyin/web/dist/app;
without it, /app answers a 404 problem that says how to build it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from zhangyin.errors import DomainError

APP_DIST = Path(__file__).parent / "web" / "dist" / "app"
APP_PATH = "/app"

#: Hashed build output never changes under its name; everything else is revalidated.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


class AppNotBuilt(DomainError):
    code = "app_not_built"
    status = 404
    title = "The mobile app has not been built"
    message_zh = "手机银行页面尚未构建：请运行 make run（或 make frontend）后再访问 /app"
    message_en = "The mobile app has not been built yet: run `make run` (or `make frontend`)"


class SinglePageApp(StaticFiles):
    """StaticFiles that falls back to index.html for client-side routes."""

    async def check_config(self) -> None:
        # Until the build exists this runs on every request, so building later just works.
        if not (Path(str(self.directory)) / "index.html").is_file():
            raise AppNotBuilt()
        await super().check_config()

    async def get_response(self, path: str, scope: Scope) -> Response:
        compressed = self._precompressed(path, scope)
        if compressed is not None:
            return compressed
        try:
            response = await super().get_response(path, scope)
        except StarletteHTTPException as exc:
            if exc.status_code != 404 or _is_file_request(path):
                raise
            response = await super().get_response("index.html", scope)
        if response.status_code == 404 and not _is_file_request(path):
            response = await super().get_response("index.html", scope)
        hashed = path.startswith("assets/") and response.status_code == 200
        response.headers["Cache-Control"] = IMMUTABLE if hashed else REVALIDATE
        return response

    def _precompressed(self, path: str, scope: Scope) -> Response | None:
        """The build writes name.js.gz beside name.js; send it to browsers that take gzip."""
        if not path.startswith("assets/") or not path.endswith((".js", ".css")):
            return None
        if "gzip" not in Headers(scope=scope).get("accept-encoding", ""):
            return None
        full, stat = self.lookup_path(path + ".gz")
        if stat is None or not full:
            return None
        media_type = "text/javascript" if path.endswith(".js") else "text/css"
        response = FileResponse(full, stat_result=stat, media_type=media_type)
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = IMMUTABLE
        return response


def _is_file_request(path: str) -> bool:
    """A missing /app/assets/x.js must be a 404, not the HTML of index.html."""
    name = PurePosixPath(path).name
    return path.startswith("assets/") or ("." in name and not name.startswith("."))


def mount_app(app: FastAPI, directory: Path = APP_DIST) -> None:
    """Serve the customer app at /app (call after the API routes are included)."""
    app.mount(APP_PATH, SinglePageApp(directory=directory, html=True, check_dir=False), name="app")
    # The operations console (frontend/console), built beside the app: same mechanism.
    console = SinglePageApp(directory=directory.parent / "console", html=True, check_dir=False)
    app.mount("/console", console, name="console")
