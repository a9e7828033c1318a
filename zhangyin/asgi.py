"""The ASGI entry point for uvicorn and other servers: `zhangyin.asgi:app`."""

from zhangyin.app import create_app

app = create_app()
