"""The deployment files (docker/) are valid and agree with the cluster CLI.

No Docker engine or Kubernetes cluster runs here, so the files are checked, not run:

* the Kubernetes manifests against the Kubernetes JSON schemas bundled in the
  ``kubernetes-validate`` package (strict mode: unknown fields are errors);
* ``docker/compose.yaml`` against the Compose Specification schema that ``check-jsonschema``
  vendors (``check_jsonschema/builtin_schemas/vendor/compose-spec.json``), with ``jsonschema``;
* ``kustomization.yaml`` (no schema is bundled for it) against a small schema written here;
* the commands, flags and ports in all of them, and in the docs, against the CLI contract.

Every schema is read from an installed package: the ``offline`` fixture makes any socket
connection or name lookup fail, so a validator that reached for the network would fail here.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import re
import shlex
import socket
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
K8S = DOCKER / "k8s"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
DOCS = [ROOT / "docs" / "cluster.md", DOCKER / "README.md"]

K8S_VERSION = "1.37.0"  # newest schema set bundled with kubernetes-validate==1.37.0
HOME = "/var/lib/flowsql"
RPC_PORT, DATA_PORT, REST_PORT = 6123, 6124, 8081


def _int(value: str) -> int:
    return int(value)


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    assert sep and host, f"expected HOST:PORT, got {value!r}"
    return host, int(port)


def _text(value: str) -> str:
    return value


# The cluster CLI contract: each (sub)command's options and how their values parse.
# None marks a flag that takes no value.
CLI = {
    "jobmanager": {"--bind": _text, "--port": _int, "--rest-port": _int, "--home": _text},
    "taskmanager": {
        "--jobmanager": _host_port,
        "--slots": _int,
        "--bind": _text,
        "--data-port": _int,
        "--advertise": _text,
    },
    "shell": {
        "--jobmanager": _host_port,
        "--home": _text,
        "-f": _text,
        "--file": _text,
        "-i": _text,
        "--init": _text,
        "--verbose": None,
    },
    "cluster start": {"--taskmanagers": _int, "--slots": _int},
    "cluster status": {},
    "cluster stop": {},
}


def parse_flowsql(argv: list[str]) -> tuple[str, dict[str, object]]:
    """Parse ``[subcommand, *options]`` (without the leading ``flowsql``) against CLI."""
    name = argv[0]
    rest = argv[1:]
    if name == "cluster":
        name = f"cluster {argv[1]}"
        rest = argv[2:]
    assert name in CLI, f"unknown command: flowsql {name}"
    spec = CLI[name]
    options: dict[str, object] = {}
    it = iter(rest)
    for token in it:
        flag, eq, inline = token.partition("=")
        assert flag in spec, f"flowsql {name}: unknown option {flag!r} in {argv}"
        convert = spec[flag]
        if convert is None:
            assert not eq, f"flowsql {name}: {flag} takes no value"
            options[flag] = True
            continue
        raw = inline if eq else next(it, None)
        assert raw is not None and not raw.startswith("-"), f"{flag} needs a value in {argv}"
        options[flag] = convert(raw)
    return name, options


def load_yaml_docs(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def k8s_manifests() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def k8s_objects() -> dict[tuple[str, str], dict]:
    objects = {}
    for path in k8s_manifests():
        for doc in load_yaml_docs(path):
            objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return objects


def only_container(deployment: dict) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to reach the network fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


# --------------------------------------------------------------------------- Kubernetes


def test_k8s_directory_has_the_expected_objects():
    objects = k8s_objects()
    assert ("Deployment", "flowsql-jobmanager") in objects
    assert ("Service", "flowsql-jobmanager") in objects
    assert ("Deployment", "flowsql-taskmanager") in objects


@pytest.mark.parametrize("path", k8s_manifests(), ids=lambda p: p.name)
def test_k8s_manifest_matches_kubernetes_schema(path, offline):
    docs = load_yaml_docs(path)
    assert docs, f"{path} is empty"
    for doc in docs:
        validated = kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        assert validated == "1.37"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["spec"].__setitem__("replicas", "two"), "is not of type"),
        (lambda d: d["spec"]["template"]["spec"].__setitem__("containerz", []), "containerz"),
        (lambda d: only_container(d).pop("name"), "'name' is a required property"),
    ],
    ids=["wrong-type", "unknown-field", "missing-required"],
)
def test_k8s_schema_check_rejects_broken_manifests(mutate, message, offline):
    """The validator really checks (and would catch a typo in the manifests)."""
    broken = copy.deepcopy(k8s_objects()[("Deployment", "flowsql-taskmanager")])
    mutate(broken)
    with pytest.raises(kubernetes_validate.ValidationError, match=message):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


KUSTOMIZATION_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "resources"],
    "properties": {
        "apiVersion": {"const": "kustomize.config.k8s.io/v1beta1"},
        "kind": {"const": "Kustomization"},
        "namespace": {"type": "string"},
        "resources": {
            "type": "array",
            "items": {"type": "string", "pattern": r"\.ya?ml$"},
            "uniqueItems": True,
            "minItems": 1,
        },
        "labels": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["pairs"],
                "properties": {
                    "pairs": {"type": "object", "additionalProperties": {"type": "string"}},
                    "includeSelectors": {"type": "boolean"},
                    "includeTemplates": {"type": "boolean"},
                },
                "additionalProperties": False,
            },
        },
        "images": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "newName": {"type": "string"},
                    "newTag": {"type": "string"},
                    "digest": {"type": "string"},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    jsonschema.Draft202012Validator.check_schema(KUSTOMIZATION_SCHEMA)
    jsonschema.validate(kustomization, KUSTOMIZATION_SCHEMA, cls=jsonschema.Draft202012Validator)
    assert sorted(kustomization["resources"]) == sorted(p.name for p in k8s_manifests())
    images = {image["name"] for image in kustomization.get("images", [])}
    for kind, _ in k8s_objects():
        if kind == "Deployment":
            assert images == {"flowsql"}


def test_k8s_jobmanager_matches_cli():
    objects = k8s_objects()
    deployment = objects[("Deployment", "flowsql-jobmanager")]
    service = objects[("Service", "flowsql-jobmanager")]
    container = only_container(deployment)
    assert container["image"].split(":")[0] == "flowsql"

    name, options = parse_flowsql(container["args"])
    assert name == "jobmanager"
    assert options["--bind"] == "0.0.0.0"
    assert options["--port"] == RPC_PORT
    assert options["--rest-port"] == REST_PORT
    assert options.get("--home", HOME) == HOME

    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"rpc": RPC_PORT, "rest": REST_PORT}
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/overview"
        assert get["port"] in ("rest", REST_PORT)

    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert HOME in mounts.values()

    # One JobManager owns the job store.
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"

    # The Service selects the JobManager pods and exposes rpc and rest.
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    service_ports = {p["name"]: (p["port"], p["targetPort"]) for p in service["spec"]["ports"]}
    assert service_ports == {"rpc": (RPC_PORT, "rpc"), "rest": (REST_PORT, "rest")}


def test_k8s_taskmanager_matches_cli():
    objects = k8s_objects()
    deployment = objects[("Deployment", "flowsql-taskmanager")]
    service = objects[("Service", "flowsql-jobmanager")]
    container = only_container(deployment)
    assert deployment["spec"]["replicas"] == 2

    name, options = parse_flowsql(container["args"])
    assert name == "taskmanager"
    assert options["--jobmanager"] == (service["metadata"]["name"], RPC_PORT)
    assert options["--bind"] == "0.0.0.0"
    assert options.get("--data-port", DATA_PORT) == DATA_PORT
    assert options["--slots"] == 1  # one TaskManager per core

    # --advertise $(POD_IP), filled in by Kubernetes from the downward API.
    assert options["--advertise"] == "$(POD_IP)"
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"

    assert container["resources"]["requests"]["cpu"] in ("1", 1, "1000m")
    assert {p["containerPort"] for p in container["ports"]} == {DATA_PORT}
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert not service["spec"]["selector"].items() <= pod_labels.items()


def test_k8s_pods_run_as_the_image_user():
    for (kind, _), obj in k8s_objects().items():
        if kind != "Deployment":
            continue
        pod_security = obj["spec"]["template"]["spec"]["securityContext"]
        assert pod_security["runAsNonRoot"] is True
        assert pod_security["runAsUser"] == 10001


# --------------------------------------------------------------------------- Compose


def compose_schema() -> dict:
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads(vendored.joinpath("compose-spec.json").read_bytes())


def compose_errors(document: dict) -> list[str]:
    schema = compose_schema()
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    return [error.message for error in validator_cls(schema).iter_errors(document)]


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_schema_is_the_compose_spec():
    schema = compose_schema()
    assert schema["title"] == "Compose Specification"
    assert "services" in schema["properties"]


def test_compose_file_matches_compose_spec(offline):
    assert compose_errors(load_compose()) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c["services"]["taskmanager"].__setitem__("containr_name", "tm"),
        lambda c: c["services"]["jobmanager"]["healthcheck"].__setitem__("intervall", "5s"),
        lambda c: c["services"]["taskmanager"].__setitem__("depends_on", "jobmanager"),
    ],
    ids=["unknown-service-key", "unknown-healthcheck-key", "wrong-type"],
)
def test_compose_schema_check_rejects_broken_files(mutate, offline):
    broken = load_compose()
    mutate(broken)
    assert compose_errors(broken)


def compose_argv(service: dict) -> list[str]:
    """The flowsql argv a service runs, after Compose's and the shell's handling."""
    entrypoint = service.get("entrypoint", ["flowsql"])
    command = service["command"]
    if entrypoint == ["flowsql"]:
        assert isinstance(command, list)
        return command
    assert entrypoint == ["/bin/sh", "-c"], entrypoint
    (script,) = command
    # Compose turns `$$` into `$`; the shell then sees `exec flowsql ...`.
    tokens = shlex.split(script.replace("$$", "$"))
    assert tokens[:2] == ["exec", "flowsql"], tokens
    return tokens[2:]


def test_compose_jobmanager_matches_cli():
    compose = load_compose()
    jm = compose["services"]["jobmanager"]
    assert jm["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    assert (COMPOSE.parent / jm["build"]["context"] / jm["build"]["dockerfile"]).is_file()

    name, options = parse_flowsql(compose_argv(jm))
    assert name == "jobmanager"
    assert options["--bind"] == "0.0.0.0"
    assert options["--port"] == RPC_PORT
    assert options["--rest-port"] == REST_PORT
    assert options.get("--home", HOME) == HOME

    # The REST port is published on the host's loopback only, and nothing else is.
    assert jm["ports"] == [f"127.0.0.1:{REST_PORT}:{REST_PORT}"]

    # Health: GET /overview on the REST port, without curl (not in the slim image).
    test = jm["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "python"
    assert f"http://127.0.0.1:{REST_PORT}/overview" in test[-1]
    compile(test[-1], "healthcheck", "exec")

    # The job store lives in a named volume.
    volume, _, target = jm["volumes"][0].partition(":")
    assert target == HOME
    assert volume in compose["volumes"]
    assert jm["environment"]["FLOWSQL_HOME"] == HOME


def test_compose_taskmanager_scales_and_matches_cli():
    compose = load_compose()
    tm = compose["services"]["taskmanager"]
    assert tm["build"] == compose["services"]["jobmanager"]["build"]
    assert tm["image"] == compose["services"]["jobmanager"]["image"]

    # `docker compose up --scale taskmanager=N` needs these absent.
    for key in ("container_name", "ports", "hostname"):
        assert key not in tm

    assert tm["depends_on"]["jobmanager"]["condition"] == "service_healthy"

    name, options = parse_flowsql(compose_argv(tm))
    assert name == "taskmanager"
    assert options["--jobmanager"] == ("jobmanager", RPC_PORT)
    assert options["--bind"] == "0.0.0.0"
    assert options.get("--data-port", DATA_PORT) == DATA_PORT
    assert options["--slots"] == 1
    # It advertises its own container hostname, read at start in the container.
    assert re.fullmatch(r"\$\{HOSTNAME(:-.*)?\}|\$\(hostname\)", options["--advertise"])


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def test_dockerfile_contract():
    instructions = dockerfile_instructions()
    by_keyword: dict[str, list[str]] = {}
    for keyword, rest in instructions:
        by_keyword.setdefault(keyword, []).append(rest)

    assert by_keyword["FROM"] == ["python:3.11-slim"]
    assert any("pip install" in run and " ." in run for run in by_keyword["RUN"])
    exposed = {int(p) for line in by_keyword["EXPOSE"] for p in line.split()}
    assert exposed == {RPC_PORT, DATA_PORT, REST_PORT}
    assert json.loads(by_keyword["ENTRYPOINT"][-1]) == ["flowsql"]
    user = by_keyword["USER"][-1].split(":")[0]
    assert user not in ("root", "0")
    assert user == "10001"  # the uid the Kubernetes securityContext names
    assert any(f"FLOWSQL_HOME={HOME}" in env for env in by_keyword["ENV"])
    # The last USER comes after every RUN: the image's processes run unprivileged.
    keywords = [keyword for keyword, _ in instructions]
    last_user = len(keywords) - 1 - keywords[::-1].index("USER")
    assert "RUN" not in keywords[last_user:]


# --------------------------------------------------------------------------- docs


def documented_commands(path: Path) -> list[list[str]]:
    """Each `flowsql ...` invocation in the file's code (blocks and inline spans)."""
    text = path.read_text()
    snippets = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    snippets += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    commands = []
    for snippet in snippets:
        for line in snippet.splitlines():
            line = line.split("  #")[0].replace("&&", "\n").replace("(", " ").replace(")", " ")
            for part in line.splitlines():
                tokens = shlex.split(part)
                for i, token in enumerate(tokens[:-1]):
                    if token == "flowsql" and (tokens[i + 1] in CLI or tokens[i + 1] == "cluster"):
                        commands.append(tokens[i + 1 :])
    return commands


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_documented_commands_use_known_flags(path):
    commands = documented_commands(path)
    assert commands, f"no flowsql command found in {path}"
    for argv in commands:
        parse_flowsql(argv)


def test_cluster_doc_covers_the_local_workflow():
    names = {parse_flowsql(argv)[0] for argv in documented_commands(DOCS[0])}
    assert {"cluster start", "cluster status", "cluster stop", "shell"} <= names
    text = DOCS[0].read_text()
    assert "http://127.0.0.1:8081" in text
    assert "flowsql shell --jobmanager 127.0.0.1:6123" in text


# --------------------------------------------------------------------------- the real CLI


def real_cli_options(name: str) -> set[str] | None:
    """The options the installed `flowsql <name>` accepts, or None if it has no such command."""
    import typer.main

    from flowsql.cli import app

    # Typer may ship its own copy of click: inspect the command tree by duck typing.
    command = typer.main.get_command(app)
    for part in name.split():
        subcommands = getattr(command, "commands", None)
        if not isinstance(subcommands, dict) or part not in subcommands:
            return None
        command = subcommands[part]
    return {opt for param in command.params for opt in param.opts if opt.startswith("-")}


@pytest.mark.parametrize("name", sorted(CLI))
def test_contract_matches_installed_cli(name):
    """Once the cluster commands are in the CLI, the contract above must match them."""
    if real_cli_options("jobmanager") is None:
        pytest.skip("the cluster commands are not in this tree's CLI yet")
    options = real_cli_options(name)
    assert options is not None, f"flowsql {name} is missing"
    assert set(CLI[name]) <= options, f"flowsql {name}: {set(CLI[name]) - options} unknown"


def test_compose_kafka_is_a_single_kraft_node_on_loopback():
    """The optional broker (`--profile kafka`): KRaft combined mode, replication factor 1 for
    the internal topics (transactions and groups hang otherwise), the same Kafka version as
    the broker the tests run, the host listener published on loopback only."""
    compose = load_compose()
    kafka = compose["services"]["kafka"]
    assert kafka["profiles"] == ["kafka"]
    pom = (ROOT / "connectors" / "kafka" / "broker-pom.xml").read_text()
    version = kafka["image"].split(":")[1]
    assert f"<version>{version}</version>" in pom
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"):
        assert env[key] == "1"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "HOST://127.0.0.1:9094" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert kafka["ports"] == ["127.0.0.1:9094:9094"]
    assert "kafka-data" in compose["volumes"]
