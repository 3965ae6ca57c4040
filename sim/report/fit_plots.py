"""The QQ plot of a fit: the data's quantiles against the fitted distribution's (log axes)."""

from __future__ import annotations

import numpy as np

from sim.report.plots import _axes


def qq(values: np.ndarray, stage_fit, ax=None):
    """Each fitted family's quantiles against the data's at 200 levels; the diagonal is a perfect
    fit. The best family (lowest AIC) is drawn solid."""
    fig, ax = _axes(ax, size=(6, 6))
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    levels = (np.arange(1, 201) - 0.5) / 200
    data = np.quantile(x, levels)
    for k, f in enumerate(stage_fit.fits):
        ax.plot(f.dist().ppf(levels), data, marker="o" if k == 0 else ".", linestyle="",
                markersize=4 if k == 0 else 2, alpha=1.0 if k == 0 else 0.5,
                label=f"{f.family} (AIC {f.aic:,.0f}, KS p {f.ks_pvalue:.2g})")
    lo, hi = float(data.min()), float(data.max())
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=1, label="perfect fit")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("fitted quantile (s)")
    ax.set_ylabel("observed quantile (s)")
    ax.set_title(f"{stage_fit.stage}: QQ plot (n={stage_fit.n:,})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig
