"""GPUDrive (https://github.com/Emerge-Lab/gpudrive): multi-agent driving on the Waymo Open
Motion Dataset, simulated on the GPU with Madrona.

It cannot be built as a PufferEnv here: the wheel published on PyPI contains no compiled
simulator (``madrona_gpudrive``), building it needs CUDA 12 and a C++ toolchain, and every
scenario comes from the Waymo Open Motion Dataset (a separate licence and download).
:func:`make` therefore always raises :class:`~pufferlib.EnvironmentSetupError` saying which
of these is missing.
"""
from __future__ import annotations

from pufferlib.exceptions import EnvironmentSetupError

REQUIRES = ("gpudrive", "madrona_gpudrive", "torch")
INSTALL = ("build GPUDrive from source (https://github.com/Emerge-Lab/gpudrive; needs an NVIDIA GPU, CUDA 12 "
           "and the Waymo Open Motion Dataset); the PyPI wheel has no compiled simulator")
DESCRIPTION = "GPUDrive driving scenarios (Madrona, CUDA); not wrapped: needs a source build and Waymo data"


def env_names() -> list:
    return ["gpudrive"]


def make(name: str = "", num_envs: int = 1, **kwargs):
    """Always raises EnvironmentSetupError (see the module docstring): with GPUDrive built and
    importable, use its own ``gpudrive.env.env_torch.GPUDriveTorchEnv`` (torch tensors on the GPU)."""
    raise EnvironmentSetupError(
        "pufferlib does not wrap GPUDrive: its environments step on the GPU through GPUDrive's own "
        "GPUDriveTorchEnv (torch tensors, scenarios from the Waymo Open Motion Dataset given by path). With "
        "GPUDrive built from source (https://github.com/Emerge-Lab/gpudrive), use "
        "gpudrive.env.env_torch.GPUDriveTorchEnv directly")
