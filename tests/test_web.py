"""The customer app at /app: built files, the client-route fallback, the missing build."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from zhangyin.app import EdgeMiddleware, install_error_handlers
from zhangyin.web import mount_app


def _client(directory: Path) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(EdgeMiddleware, max_body_bytes=1000)

    @app.get("/v1/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    mount_app(app, directory)
    return TestClient(app)


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(
        '<!doctype html><script type="module" src="/app/assets/index-abc.js"></script>'
    )
    (tmp_path / "assets" / "index-abc.js").write_text("console.log('app')")
    (tmp_path / "sw.js").write_text("self.addEventListener('fetch', () => {})")
    return tmp_path


def test_index_is_served_and_revalidated(built: Path) -> None:
    response = _client(built).get("/app/")
    assert response.status_code == 200
    assert response.text.startswith("<!doctype html>")
    assert response.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_hashed_assets_are_cached_for_a_year(built: Path) -> None:
    response = _client(built).get("/app/assets/index-abc.js")
    assert response.status_code == 200
    assert response.text == "console.log('app')"
    assert "immutable" in response.headers["cache-control"]


def test_client_routes_fall_back_to_index(built: Path) -> None:
    client = _client(built)
    for path in ("/app/home", "/app/settings/devices", "/app/transfers/abc"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.text.startswith("<!doctype html>")


def test_a_missing_asset_is_a_404_not_the_index(built: Path) -> None:
    response = _client(built).get("/app/assets/missing-123.js")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "<!doctype" not in response.text


def test_the_api_is_not_shadowed(built: Path) -> None:
    assert _client(built).get("/v1/ping").json() == {"pong": "yes"}


def test_no_path_escapes_the_build(built: Path, tmp_path: Path) -> None:
    (tmp_path.parent / "secret.txt").write_text("TOP-SECRET-CONTENT")
    client = _client(built)
    for path in ("/app/../secret.txt", "/app/..%2Fsecret.txt", "/app/%2E%2E/secret.txt"):
        response = client.get(path)
        assert "TOP-SECRET-CONTENT" not in response.text, path


def test_without_a_build_app_answers_a_problem_that_says_how_to_build(tmp_path: Path) -> None:
    client = _client(tmp_path / "nothing-here")
    for language, words in (("zh-CN", "make run"), ("en-US", "make run")):
        response = client.get("/app/home", headers={"Accept-Language": language})
        assert response.status_code == 404
        body = response.json()
        assert body["code"] == "app_not_built"
        assert words in body["detail"]
    assert client.get("/v1/ping").status_code == 200


def test_gzipped_assets_go_to_browsers_that_take_gzip(built: Path) -> None:
    import gzip

    (built / "assets" / "index-abc.js.gz").write_bytes(gzip.compress(b"console.log('app')"))
    client = _client(built)
    zipped = client.get("/app/assets/index-abc.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["content-type"].startswith("text/javascript")
    assert zipped.text == "console.log('app')"  # the client undid the gzip
    plain = client.get("/app/assets/index-abc.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text == "console.log('app')"
