"""Files the package reads at run time, shipped as package data in this one folder: the
calibration loop (calibrate.s, also included by programs/calibrate.s), the digits data set and
the workloads' trained weights (.npy/.npz)."""
from pathlib import Path

DIR = Path(__file__).parent
