"""A small synthetic stand-in for Kaggle's nomad2018 download (archives already unzipped), for
tests only.

It writes ``train.csv`` and ``test.csv`` with Kaggle's columns, ``sample_submission.csv``, and
one ``train/<id>/geometry.xyz`` (``test/<id>/geometry.xyz``) per material in the real format
(ASE's FHI-aims writer: ``#`` header lines, three ``lattice_vector x y z`` lines, then one
``atom x y z element`` line per atom, Cartesian coordinates in angstrom), plus the fixture
marker. Cells are small (10 to 40 atoms) to keep the files tiny. Both targets depend on the
Al/Ga/In composition, the space group and the cell volume, so models can learn something; the
materials themselves are invented.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.tasks.data import FIXTURE_MARKER

N_TRAIN = 300
N_TEST = 30

SAMPLE_SUBMISSION_SCORE: float = 0.213892
"""Mean column-wise RMSLE of the public sample submission (train means) on all fixture answers, seed 0."""

COLUMNS = [
    "id", "spacegroup", "number_of_total_atoms", "percent_atom_al", "percent_atom_ga", "percent_atom_in",
    "lattice_vector_1_ang", "lattice_vector_2_ang", "lattice_vector_3_ang",
    "lattice_angle_alpha_degree", "lattice_angle_beta_degree", "lattice_angle_gamma_degree",
    "formation_energy_ev_natom", "bandgap_energy_ev",
]
SPACEGROUPS = [12, 33, 167, 194, 206, 227]
HEADER = (
    "#=======================================================\n"
    "#Created using the Atomic Simulation Environment (ASE)\n"
    "#=======================================================\n"
)


def _cell(a: float, b: float, c: float, alpha: float, beta: float, gamma: float) -> np.ndarray:
    """Lattice vectors (rows) from lengths and angles in degrees: a along x, b in the xy plane."""
    al, be, ga = np.radians([alpha, beta, gamma])
    bx, by = b * np.cos(ga), b * np.sin(ga)
    cx = c * np.cos(be)
    cy = c * (np.cos(al) - np.cos(be) * np.cos(ga)) / np.sin(ga)
    cz = np.sqrt(max(c * c - cx * cx - cy * cy, 1e-6))
    return np.array([[a, 0.0, 0.0], [bx, by, 0.0], [cx, cy, cz]])


def _geometry(rng: np.random.Generator, cell: np.ndarray, elements: list[str]) -> str:
    lines = [HEADER]
    for vector in cell:
        lines.append("lattice_vector " + " ".join(f"{v:.16f}" for v in vector) + " \n")
    positions = rng.random((len(elements), 3)) @ cell
    for (x, y, z), element in zip(positions, elements):
        lines.append(f"atom {x:.16f} {y:.16f} {z:.16f} {element}\n")
    return "".join(lines)


def make_fixture(raw: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    rows, geometries = [], []
    for i in range(n):
        spacegroup = int(rng.choice(SPACEGROUPS))
        atoms = int(rng.choice([10, 20, 30, 40]))
        metals = atoms * 2 // 5
        al, ga, inn = rng.multinomial(metals, rng.dirichlet([1.0, 1.0, 1.0]))
        x, y, z = al / metals, ga / metals, inn / metals
        scale = (atoms / 10.0) ** (1.0 / 3.0) * (4.8 + 0.9 * z - 0.4 * x)
        a, b, c = (scale * rng.uniform(0.85, 1.25, 3)).tolist()
        alpha, beta, gamma = (90.0 + rng.normal(0, 0.02, 3)).tolist()
        if spacegroup in (167, 194):
            gamma = 120.0 + float(rng.normal(0, 0.02))
        if spacegroup == 12:
            beta = 103.7 + float(rng.normal(0, 1.0))
        formation = 0.06 + 0.35 * x * (1 - x) + 0.25 * x * z + 0.03 * (spacegroup == 12) + rng.normal(0, 0.015)
        bandgap = 1.0 + 4.0 * x + 1.6 * y - 0.5 * z + 0.3 * (spacegroup == 227) + rng.normal(0, 0.12)
        rows.append(
            [i, spacegroup, f"{atoms:.1f}", round(x, 4), round(y, 4), round(z, 4),
             round(a, 4), round(b, 4), round(c, 4), round(alpha, 4), round(beta, 4), round(gamma, 4),
             round(max(formation, 0.0), 4), round(max(bandgap, 0.0), 4)]
        )
        elements = ["Al"] * al + ["Ga"] * ga + ["In"] * inn + ["O"] * (atoms - metals)
        geometries.append(_geometry(rng, _cell(a, b, c, alpha, beta, gamma), elements))

    frame = pd.DataFrame(rows, columns=COLUMNS)
    raw.mkdir(parents=True, exist_ok=True)
    # Kaggle numbers train and test separately, each from 1
    for part, sl in (("train", slice(0, N_TRAIN)), ("test", slice(N_TRAIN, n))):
        block = frame.iloc[sl].copy()
        block["id"] = np.arange(1, len(block) + 1)
        if part == "test":
            block = block.drop(columns=["formation_energy_ev_natom", "bandgap_energy_ev"])
        block.to_csv(raw / f"{part}.csv", index=False)
        for new_id, text in zip(block["id"], geometries[sl]):
            folder = raw / part / str(new_id)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "geometry.xyz").write_text(text, encoding="utf-8")
    sample = {"id": np.arange(1, N_TEST + 1), "formation_energy_ev_natom": 0.1779, "bandgap_energy_ev": 1.8892}
    pd.DataFrame(sample).to_csv(raw / "sample_submission.csv", index=False)
    (raw / FIXTURE_MARKER).touch()
