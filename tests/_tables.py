"""Small mixed-type tables with planted dependencies, shared by screen tests."""

import numpy as np
import pandas as pd


def dependent_table(n=150, seed=0):
    """extraversion -> smiles (nonlinear), gender -> agreeableness; age independent."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    group = rng.choice(["f", "m"], size=n)
    return pd.DataFrame({
        "extraversion": a,
        "smiles": np.sin(2 * a) + 0.3 * rng.normal(size=n),
        "age": rng.normal(size=n),
        "gender": group,
        "agreeableness": (group == "f") + 0.5 * rng.normal(size=n),
    })
