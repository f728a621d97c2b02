"""An S3-compatible server for checkpoint tests: moto's server (a dev dependency) as a
subprocess on 127.0.0.1 and a free port, started and stopped by its pid.

``execution.checkpointing.dir`` then is an ``s3://`` URI whose query string points pyarrow at
it (``endpoint_override``, ``scheme=http``, ``region``); the credentials are moto's dummy
ones, given as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment (of this process
for embedded jobs, of a child for a shell). AWS_EC2_METADATA_DISABLED keeps the AWS SDK from
asking an instance-metadata address for credentials: nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import pyarrow.fs as pafs

REGION = "us-east-1"
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    port: int
    process: subprocess.Popen

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def uri(self, bucket: str, path: str = "") -> str:
        """An ``s3://`` URI pyarrow's ``FileSystem.from_uri`` opens against this server."""
        where = f"{bucket}/{path}".rstrip("/")
        return f"s3://{where}?endpoint_override={self.endpoint}&scheme=http&region={REGION}"

    def filesystem(self) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(access_key=ENV["AWS_ACCESS_KEY_ID"],
                                 secret_key=ENV["AWS_SECRET_ACCESS_KEY"],
                                 endpoint_override=self.endpoint, scheme="http", region=REGION,
                                 allow_bucket_creation=True)

    def create_bucket(self, bucket: str) -> None:
        self.filesystem().create_dir(bucket)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key (files, not directory markers) under ``bucket/prefix``."""
        infos = self.filesystem().get_file_info(pafs.FileSelector(
            f"{bucket}/{prefix}".rstrip("/"), recursive=True, allow_not_found=True))
        return sorted(i.path[len(bucket) + 1:] for i in infos if i.type == pafs.FileType.File)


def start(timeout: float = 30.0) -> S3Server:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return S3Server(port, process)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop(S3Server(port, process))
                raise RuntimeError(f"moto's S3 server did not start on port {port}") from None
            time.sleep(0.1)


def stop(server: S3Server) -> None:
    """End the server by its pid (SIGTERM, then SIGKILL)."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)
