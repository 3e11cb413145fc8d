"""How often the per-image grey-scale check warns on images like the training ones, and on
images that are not.

``IntensityWarning`` compares every image to predict with the grey range of the training
images. A per-image check must stay quiet on images of the same source (a false warning
teaches users to ignore it) and speak on every image of another scale. This script takes
the reference from half of the images (as ``fit`` records it) and counts the images of the
other half that would be flagged, as they are and after a change of scale.

Run::

    python benchmarks/intensity_warning_rate.py                  # generated images
    python benchmarks/intensity_warning_rate.py --data PATH.h5   # Pommier's file
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from chromoskl._intensity import intensity_range, intensity_ranges, unlike_reference
from chromoskl.datasets import load_overlapping_chromosomes, make_overlapping_chromosomes


def flagged_share(images, reference) -> float:
    """Share of ``images`` that ``warn_if_unlike`` would name."""
    return float(np.mean(unlike_reference(intensity_ranges(images), reference)))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--n-images", type=int, default=4000)
    args = parser.parse_args(argv)
    if args.data is None:
        images = make_overlapping_chromosomes(args.n_images, random_state=0).images
    else:
        images = load_overlapping_chromosomes(args.data, max_samples=args.n_images,
                                              shuffle=True, random_state=0).images
    half = len(images) // 2
    reference = intensity_range(images[:half])
    held_out = images[half:]
    results = {"reference": reference, "n_checked": len(held_out)}
    for label, transformed in (
        ("same source", held_out),
        ("x1.5 (brighter stain)", held_out * 1.5),
        ("x10 (12-bit scale)", held_out * 10),
        ("+250 (raw camera background)", held_out + 250),
        ("/255 (scaled to [0, 1])", held_out / 255),
    ):
        results[label] = round(flagged_share(transformed, reference), 4)
        print(f"{label:30s} flagged {100 * results[label]:6.2f} % of {len(held_out)} images")
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
