"""The quickstart notebook runs end to end (examples/python_quickstart.ipynb)."""

import os

import pytest

from conftest import REPO


def test_the_quickstart_notebook_runs():
    if not os.environ.get("EXOSIM_REQUIRE_NOTEBOOK"):
        pytest.importorskip("nbclient")
        pytest.importorskip("ipykernel")
        pytest.importorskip("matplotlib")
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(REPO / "examples" / "python_quickstart.ipynb", as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO / "examples")}}
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
