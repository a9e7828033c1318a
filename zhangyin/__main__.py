from zhangyin.cli import app

app(prog_name="python -m zhangyin")
