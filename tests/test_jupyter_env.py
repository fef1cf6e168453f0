"""The Jupyter set-up: kernels started with encrypted transport (papermill prints only progress), offline exports."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from traitlets.config import Config

from povanalysis import jupyter_env

WARNING = "without encryption"


def _small_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [nbformat.v4.new_code_cell("print(6 * 7)")]
    nbformat.write(nb, path)
    return path


def test_papermill_prints_nothing_but_progress(tmp_path):
    script = Path(sys.executable).with_name("papermill")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "papermill"]
    run = subprocess.run(
        [*command, str(_small_notebook(tmp_path / "in.ipynb")), str(tmp_path / "out.ipynb")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[0].outputs[0]["text"] == "42\n"
    assert WARNING not in run.stderr
    assert "WARNING" not in run.stderr, run.stderr


def test_the_provisioner_is_registered():
    (entry,) = entry_points(group="jupyter_client.kernel_provisioners", name=jupyter_env.PROVISIONER_NAME)
    assert entry.load() is jupyter_env.EncryptedProvisioner


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    """A kernel spec manager holding only the kernel spec the set-up installs."""
    prefix = tmp_path_factory.mktemp("prefix")
    folder = jupyter_env.install_kernel(prefix)
    return folder, KernelSpecManager(kernel_dirs=[str(folder.parent)])


def test_kernel_spec_names_the_provisioner_and_this_python(kernels):
    folder, _ = kernels
    spec = json.loads((folder / "kernel.json").read_text(encoding="utf-8"))
    assert spec["argv"][0] == sys.executable
    assert spec["display_name"] == "Python 3 (povanalysis)"
    assert spec["metadata"]["kernel_provisioner"] == {"provisioner_name": "povanalysis-encrypted", "config": {}}
    assert "curve" in spec["metadata"]["supported_encryption"]


def _start_and_stop(manager: KernelManager) -> None:
    manager.start_kernel()
    try:
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive("x = 6 * 7", timeout=60)
        assert reply["content"]["status"] == "ok"
        client.stop_channels()
    finally:
        manager.shutdown_kernel(now=True)


def test_kernels_run_encrypted_without_the_warning(kernels, capfd):
    _, specs = kernels
    manager = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
    _start_and_stop(manager)
    assert manager.curve_publickey is not None
    assert WARNING not in capfd.readouterr().err


def test_a_configured_policy_is_kept(kernels, capfd):
    _, specs = kernels
    config = Config({"KernelManager": {"transport_encryption": "disabled"}})
    manager = KernelManager(kernel_name="python3", kernel_spec_manager=specs, config=config)
    _start_and_stop(manager)
    assert manager.curve_publickey is None
    assert WARNING in capfd.readouterr().err
