"""Footprint proposal on a 500 x 500 px chip (0.5 m, a generated scene: textured ground, an L-shaped building,
its shadow, same-coloured neighbours) against one scikit-image segmentation call on the same chip, in the same
run: `skimage.segmentation.watershed` of the Sobel gradient of the grey image from its local minima (markers
from `skimage.morphology.local_minima`, no compactness; gradient and markers timed with it), the cheapest
whole-chip segmentation an analyst's
tool would start from. Also timed: `skimage.segmentation.felzenszwalb` (scale 100), and the proposal without
regularisation (buildingregulariser's share).

    .venv/bin/python -m bench.footprint_bench            # 9 repeats
    .venv/bin/python -m bench.footprint_bench --quick    # 3 repeats (make bench)

Timings are information on a shared machine: the exit status never depends on them.
"""

from __future__ import annotations

import numpy as np
from skimage import color, filters, morphology, segmentation

from bench import harness
from bench.harness import Report, timed
from imagery.base import Capture, Chip, DateCertainty
from imagery.footprints import propose_footprint
from tests.support.scenes import building_scene, iou


def main() -> None:
    """Run the bench and print the figures."""
    args = harness.parser(__doc__, "3 repeats").parse_args()
    repeat = 3 if args.quick else 9
    sc = building_scene(3, "l", size_px=500)
    chip = Chip(Capture("local", "bench", None, DateCertainty.STATED), sc.data, sc.crs, tuple(sc.transform)[:6], None)
    rgb = np.moveaxis(sc.data, 0, -1)

    def watershed() -> np.ndarray:
        grad = filters.sobel(color.rgb2gray(rgb))
        return segmentation.watershed(grad, _markers(grad))

    def felzenszwalb() -> np.ndarray:
        return segmentation.felzenszwalb(rgb, scale=100)

    proposal = propose_footprint(chip, sc.seed_xy)
    rep = Report("footprint")
    rep.out(f"a {sc.data.shape[2]} x {sc.data.shape[1]} px chip at 0.5 m; proposal IoU "
            f"{iou(proposal.geometry_grid, sc.truth):.3f}, confidence {proposal.confidence}; {repeat} repeats")
    ours = rep.timing("proposal", "propose_footprint (regularised)", timed(lambda: propose_footprint(
        chip, sc.seed_xy), repeat=repeat))
    raw = rep.timing("proposal_raw", "propose_footprint (no regularisation)", timed(lambda: propose_footprint(
        chip, sc.seed_xy, regularise=False), repeat=repeat))
    base = rep.timing("watershed", "skimage watershed of the Sobel gradient (baseline)", timed(watershed,
                                                                                              repeat=repeat))
    felz = rep.timing("felzenszwalb", "skimage felzenszwalb (scale 100)", timed(felzenszwalb, repeat=repeat))
    rep.compare("ratio", "proposal / one watershed call", ours, base)
    rep.compare("ratio_raw", "proposal without regularisation / one watershed call", raw, base)
    rep.compare("ratio_felzenszwalb", "proposal / one felzenszwalb call", ours, felz)
    rep.write(quick=args.quick)


def _markers(grad: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    minima = morphology.local_minima(grad)
    labels, _ = ndimage.label(minima)
    return labels


if __name__ == "__main__":
    main()
