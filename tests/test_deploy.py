"""The container files, checked without a Docker engine: Dockerfile, docker-compose.yml, deploy/nginx.conf.

Every path, port, command and environment variable they name must exist in the project, and the image's
command, run here from the repository root with the image's environment, must serve the painter.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

from backend.body_limit import request_limit
from backend.export_static import vendor_files
from backend.routes.docs import DOCS_FILES
from backend.settings import MEGABYTE, Settings
from tests.helpers.server import free_port, wait_until_healthy

REPO = Path(__file__).resolve().parent.parent
SETTINGS_ENV = {name.upper() for name in Settings.model_fields}
# Read by the Python interpreter, the shell or uvicorn rather than by backend/settings.py.
# NUMBA_CACHE_DIR: where the landscape renderer's kernels, compiled when the image is built, are found.
RUNTIME_ENV = {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "FORWARDED_ALLOW_IPS", "NUMBA_CACHE_DIR"}
CONTAINER_PORT = 8000


# --- A small Dockerfile reader: instructions, grouped into stages.

@dataclass
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.arguments for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        pairs = {}
        for arguments in self.all("ENV"):
            for item in shlex.split(arguments):
                name, _, value = item.partition("=")
                pairs[name] = value
        return pairs


@dataclass
class Dockerfile:
    global_args: dict[str, str]
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def resolve(self, text: str, args: dict[str, str] | None = None) -> str:
        values = self.global_args | (args or {})
        return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)


def read_instructions(text: str) -> list[Instruction]:
    """Comments dropped, backslash continuations joined, one Instruction per instruction."""
    instructions, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def read_dockerfile(path: Path) -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in read_instructions(path.read_text()):
        if instruction.keyword == "FROM":
            words = [w for w in instruction.arguments.split() if not w.startswith("--")]
            stages.append(Stage(base=words[0], name=words[2] if len(words) == 3 else None))
        elif not stages:
            assert instruction.keyword == "ARG", f"{instruction.keyword} before the first FROM"
            name, _, default = instruction.arguments.partition("=")
            global_args[name] = default
        else:
            stages[-1].instructions.append(instruction)
    return Dockerfile(global_args, stages)


def exec_form(arguments: str) -> list[str]:
    """The JSON array of a CMD or of a HEALTHCHECK's CMD (after its --options)."""
    return json.loads(arguments[arguments.index("["):])


def copy_sources(arguments: str) -> list[str]:
    words = [w for w in arguments.split() if not w.startswith("--")]
    return words[:-1]


def ignored_by_docker(relative: str, patterns: list[str]) -> bool:
    name = relative.rstrip("/")
    for pattern in patterns:
        if pattern.startswith("**/"):
            if fnmatch.fnmatch(Path(name).name, pattern[3:]):
                return True
        elif fnmatch.fnmatch(name, pattern.strip("/")):
            return True
    return False


def dockerignore() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return read_dockerfile(REPO / "Dockerfile")


def final_stage(dockerfile: Dockerfile) -> Stage:
    return dockerfile.stages[-1]


def test_dockerfile_final_stage_runs_the_entry_point_as_non_root(dockerfile):
    stage = final_stage(dockerfile)
    users = stage.all("USER")
    assert users and users[-1] not in ("root", "0"), "the server must not run as root"
    assert stage.all("EXPOSE") == [str(CONTAINER_PORT)]
    env = stage.env()
    assert {"HOST": "0.0.0.0", "PORT": str(CONTAINER_PORT), "WEIGHTS_DIR": "/app/weights"}.items() <= env.items()
    assert set(env) <= SETTINGS_ENV | RUNTIME_ENV, set(env) - SETTINGS_ENV - RUNTIME_ENV
    assert Settings.model_fields["port"].default == CONTAINER_PORT
    assert stage.all("WORKDIR") == ["/app"]
    # The Makefile's `make run` is `$(PY) -m backend ...`: the same module, configured by HOST/PORT/WEIGHTS_DIR.
    assert exec_form(stage.all("CMD")[-1]) == ["python", "-m", "backend"]
    assert "-m backend" in (REPO / "Makefile").read_text()
    (healthcheck,) = stage.all("HEALTHCHECK")
    assert "/healthz" in " ".join(exec_form(healthcheck))


def test_dockerfile_stages_resolve_for_cpu_and_gpu(dockerfile):
    names = {s.name for s in dockerfile.stages if s.name}
    for runtime in ("cpu", "gpu"):
        assert dockerfile.resolve(final_stage(dockerfile).base, {"RUNTIME": runtime}) in names
    assert dockerfile.global_args["RUNTIME"] == "cpu", "a plain `docker build` must give the CPU image"
    for stage in dockerfile.stages:
        assert dockerfile.resolve(stage.base) in names or ":" in dockerfile.resolve(stage.base), stage.base
        for arguments in stage.all("COPY"):
            source_stage = re.search(r"--from=(\S+)", arguments)
            if source_stage:
                assert source_stage.group(1) in names, arguments
    for name in ("builder-cpu", "runtime-cpu"):
        assert dockerfile.resolve(dockerfile.stage(name).base).startswith("python:3.11-slim")
    assert "cuda" in dockerfile.resolve(dockerfile.stage("cuda-python").base)


def test_dockerfile_installs_the_core_dependencies_only(dockerfile):
    instructions = read_instructions((REPO / "Dockerfile").read_text())
    assert not [i for i in instructions if "torch" in i.arguments.lower()], "the serving image has no torch"
    for name in ("builder-cpu", "builder-gpu"):
        runs = " ".join(dockerfile.stage(name).all("RUN"))
        assert "pip install . " in runs + " ", f"{name} must install the package's core dependencies"
        assert "[" not in runs, f"{name} must install no extras"
    gpu_runs = " ".join(dockerfile.stage("builder-gpu").all("RUN"))
    assert re.search(r"pip uninstall .*onnxruntime", gpu_runs)
    assert "ONNXRUNTIME_GPU" in gpu_runs
    assert any(a.startswith("ONNXRUNTIME_GPU=onnxruntime-gpu") for a in dockerfile.stage("builder-gpu").all("ARG"))


def test_dockerfile_copies_paths_that_exist_and_reach_the_build_context(dockerfile):
    patterns = dockerignore()
    copied = set()
    for stage in dockerfile.stages:
        for arguments in stage.all("COPY"):
            if "--from=" in arguments:
                continue
            for source in copy_sources(arguments):
                assert (REPO / source).exists(), f"COPY {source}: no such path"
                assert not ignored_by_docker(source, patterns), f"COPY {source}: excluded by .dockerignore"
                copied.add(source.rstrip("/"))
    assert {"pyproject.toml", "package.json", "package-lock.json", "backend", "frontend", "weights"} <= copied
    for heavy in (".venv", ".git", "runs", "tests", "model_training", ".pytest_cache", "__pycache__", "node_modules"):
        assert ignored_by_docker(heavy, patterns), f"{heavy} should stay out of the build context"
    # A hybrid model's bank and style thumbnails are served with it; the judge segmenter is evaluation-only.
    for served in ("weights/hybrid-landscape.bank.npz", "weights/styles/hybrid-landscape/golden.jpg"):
        assert not ignored_by_docker(served, patterns), f"{served} must reach the image"
    assert ignored_by_docker("weights/judges", patterns), "weights/judges/ is not served: keep it out of the image"


def test_dockerfile_ships_what_the_page_loads_of_the_pinned_onnxruntime_web_and_no_node(dockerfile):
    npm = dockerfile.stage("onnxruntime-web")
    runs = " ".join(npm.all("RUN"))
    assert "npm ci --omit=dev" in runs, "package-lock.json's versions, no devDependencies"
    assert "onnxruntime-web" in json.loads((REPO / "package.json").read_text())["dependencies"]
    # Exactly the runtime files the static export ships (backend/export_static.py), named in the stage's `cp`.
    shipped = {path.name for path in vendor_files(REPO / "frontend", Settings.model_fields["vendor_dir"].default)}
    assert shipped and shipped == {word for word in runs.split() if word.startswith("ort")}
    (copy,) = [a for a in final_stage(dockerfile).all("COPY") if "--from=onnxruntime-web" in a]
    assert Path(copy.split()[-1]) == Settings.model_fields["vendor_dir"].default.relative_to(REPO), "VENDOR_DIR"
    # And of swagger-ui-dist, the files the /docs page loads, where SWAGGER_UI_DIR looks for them.
    assert "swagger-ui-dist" in json.loads((REPO / "package.json").read_text())["dependencies"]
    swagger = dockerfile.stage("swagger-ui")
    assert set(DOCS_FILES) == {word for word in " ".join(swagger.all("RUN")).split() if word in DOCS_FILES}
    (copy,) = [a for a in final_stage(dockerfile).all("COPY") if "--from=swagger-ui" in a]
    assert Path(copy.split()[-1]) == Settings.model_fields["swagger_ui_dir"].default.relative_to(REPO)
    served = [final_stage(dockerfile), *(dockerfile.stage(n) for n in ("runtime-cpu", "runtime-gpu", "cuda-python"))]
    assert not [run for stage in served for run in stage.all("RUN") if re.search(r"\b(nodejs|npm)\b", run)]


# --- The image's command, run here.


def as_local_command(argv: list[str]) -> list[str]:
    """The image's `python` is its venv's interpreter; here it is this test's interpreter."""
    assert argv[0] == "python"
    return [sys.executable, *argv[1:]]



def image_environment(dockerfile: Dockerfile, port: int, weights: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    env |= {k: v for k, v in final_stage(dockerfile).env().items() if k != "PATH"}
    return env | {"HOST": "127.0.0.1", "PORT": str(port), "WEIGHTS_DIR": str(weights)}


@pytest.mark.timeout(120)
def test_the_image_command_serves_the_painter_and_passes_its_healthchecks(dockerfile, compose, tiny_weights):
    port = free_port()
    env = image_environment(dockerfile, port, tiny_weights)
    stage = final_stage(dockerfile)
    healthchecks = [as_local_command(exec_form(stage.all("HEALTHCHECK")[0])),
                    as_local_command(compose["services"]["painter"]["healthcheck"]["test"][1:])]
    process = subprocess.Popen(as_local_command(exec_form(stage.all("CMD")[-1])), cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process)
        page = httpx.get(f"{url}/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert httpx.get(f"{url}/readyz").status_code == 200
        for command in healthchecks:
            assert subprocess.run(command, env=env, timeout=30).returncode == 0, command
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in output
    for command in healthchecks:
        down = subprocess.run(command, env=env, capture_output=True, timeout=30)
        assert down.returncode != 0, "a healthcheck must fail when the server is down"


# --- docker-compose.yml

def compose_defaults(value: str) -> str:
    """Compose interpolation with nothing set in the environment: `${NAME:-default}` -> default."""
    return re.sub(r"\$\{\w+(?::?-([^}]*))?\}", lambda m: m.group(1) or "", value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_serves_the_painter_on_port_8000_with_mounted_weights(compose, dockerfile):
    services = compose["services"]
    assert [name for name, s in services.items() if "profiles" not in s] == ["painter"], \
        "`docker compose up` must start the painter alone"
    painter = services["painter"]
    context = REPO / painter["build"]["context"]
    assert (context / painter["build"].get("dockerfile", "Dockerfile")).is_file()
    assert painter["ports"] == [f"{CONTAINER_PORT}:{CONTAINER_PORT}"]
    (volume,) = painter["volumes"]
    host, container, mode = volume.split(":")
    assert (REPO / host).is_dir() and host == "./weights"
    assert container == final_stage(dockerfile).env()["WEIGHTS_DIR"] and mode == "ro"
    assert painter["restart"] in ("unless-stopped", "always")
    assert painter["healthcheck"]["test"][0] == "CMD" and "/healthz" in " ".join(painter["healthcheck"]["test"])


def test_compose_environment_names_settings_with_their_code_defaults(compose, monkeypatch):
    for name, service in compose["services"].items():
        if "build" not in service:
            continue
        unknown = set(service["environment"]) - SETTINGS_ENV - RUNTIME_ENV
        assert not unknown, f"{name}: {unknown} are not settings (backend/settings.py)"
    environment = compose["services"]["painter"]["environment"]
    assert {"API_KEY", "CORS_ORIGINS", "RATE_LIMIT_PER_MINUTE"} <= set(environment)
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    code_defaults = Settings().model_dump()
    for name, value in environment.items():
        monkeypatch.setenv(name, compose_defaults(str(value)))
    assert Settings().model_dump() == code_defaults, "compose defaults must equal the defaults in settings.py"


def test_compose_gpu_profile_builds_the_gpu_runtime_and_reserves_a_gpu(compose, dockerfile):
    gpu = compose["services"]["painter-gpu"]
    assert gpu["profiles"] == ["gpu"]
    runtime = gpu["build"]["args"]["RUNTIME"]
    assert f"runtime-{runtime}" in {s.name for s in dockerfile.stages} and runtime == "gpu"
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert gpu["volumes"] == compose["services"]["painter"]["volumes"]


def test_compose_scale_profile_puts_replicas_behind_nginx(compose):
    services = compose["services"]
    replica, balancer = services["painter-replica"], services["load-balancer"]
    assert replica["profiles"] == balancer["profiles"] == ["scale"]
    assert replica["deploy"]["replicas"] >= 2
    assert "ports" not in replica, "replicas publish no host port; the load balancer is the way in"
    assert replica["expose"] == [str(CONTAINER_PORT)]
    assert "painter-replica" in balancer["depends_on"]
    (volume,) = balancer["volumes"]
    host, container, mode = volume.split(":")
    assert (REPO / host).is_file() and container.startswith("/etc/nginx/") and mode == "ro"
    host_port = balancer["ports"][0].split(":")[0]
    assert host_port != services["painter"]["ports"][0].split(":")[0], "the balancer must not take the painter's port"


# --- deploy/nginx.conf

def test_nginx_proxies_to_the_replicas_with_websocket_upgrades(compose):
    config = (REPO / "deploy" / "nginx.conf").read_text()
    directives = [line.split("#")[0].strip() for line in config.splitlines()]
    (server,) = [d for d in directives if d.startswith("server ") and d.endswith(";")]
    host, port = server.split()[1].rstrip(";").split(":")
    assert host in compose["services"] and int(port) == CONTAINER_PORT
    assert "proxy_http_version 1.1;" in directives
    assert "proxy_set_header Upgrade $http_upgrade;" in directives
    assert "proxy_set_header Connection $connection_upgrade;" in directives
    assert "map $http_upgrade $connection_upgrade {" in directives
    (listen,) = [d for d in directives if d.startswith("listen ")]
    assert compose["services"]["load-balancer"]["ports"][0].split(":")[1] == listen.split()[1].rstrip(";")
    (body,) = [d for d in directives if d.startswith("client_max_body_size ")]
    limit_mb = int(body.split()[1].rstrip(";").rstrip("m"))
    assert limit_mb * MEGABYTE >= request_limit(Settings.model_fields["max_upload_bytes"].default)


# --- docs/operations.md

def test_operations_doc_lists_exactly_the_settings():
    text = (REPO / "docs" / "operations.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", text, flags=re.MULTILINE))
    assert documented == SETTINGS_ENV
