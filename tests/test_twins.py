"""The CPU and CUDA kernels are twins (DESIGN.md, "Kernel conventions"):
every host function defined on both sides has the same parameters in the
same order (device arrays with a ``d_`` prefix) and lives in a module of
the same name, and ``kernels/cuda`` never imports ``kernels/cpu``. Read
from the source, so no GPU (or simulator) is needed."""

import ast
import pathlib

KERNELS = pathlib.Path(__file__).resolve().parent.parent / "kernels"


def _host_functions(side):
    """{name: [(module, parameters)]} of the public, undecorated module-level
    functions of ``kernels/<side>`` that are not ``*_kernel`` functions."""
    found = {}
    for path in sorted((KERNELS / side).glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if (isinstance(node, ast.FunctionDef) and not node.decorator_list
                    and not node.name.startswith("_") and not node.name.endswith("_kernel")):
                params = [a.arg for a in node.args.args]
                found.setdefault(node.name, []).append((path.stem, params))
    return found


def _undevice(params):
    return [p[2:] if p.startswith("d_") else p for p in params]


def test_twin_host_functions_match():
    cpu, cuda = _host_functions("cpu"), _host_functions("cuda")
    twins = sorted(set(cpu) & set(cuda))
    assert len(twins) >= 15, twins  # the kernels the CUDA side has
    for name in twins:
        assert len(cpu[name]) == len(cuda[name]) == 1, (name, cpu[name], cuda[name])
        (cpu_module, cpu_params), (cuda_module, cuda_params) = cpu[name][0], cuda[name][0]
        assert cpu_module == cuda_module, name
        assert cpu_params == _undevice(cuda_params), name


def test_cuda_never_imports_cpu():
    for path in sorted((KERNELS / "cuda").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = ("." * node.level) + (node.module or "")
                assert not module.startswith("..cpu"), (path.name, module)
                assert "kernels.cpu" not in module, (path.name, module)
            elif isinstance(node, ast.Import):
                assert all("kernels.cpu" not in a.name for a in node.names), path.name
