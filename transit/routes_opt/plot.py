"""A picture of the clustered routes on the network (adapter: matplotlib, a file).

The whole network is drawn in light grey; each cluster of duplicate or near-duplicate routes is drawn over it
in its own colour, named in the legend. Axes are longitude and latitude with the aspect of a local
equirectangular projection (1 / cos of the mean latitude), so that distances look right; no map tiles.
matplotlib is imported inside the function, so that the command line starts without it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import networkx as nx

PLOT_FORMATS = (".png", ".svg", ".pdf")
_LEGEND_ROUTES = 6  # routes named per cluster in the legend before "and N more"
_LEGEND_CLUSTERS = 15


def write_overlap_plot(
    graph: nx.DiGraph, clusters: Sequence[Sequence[str]], path: Path, title: str = "Duplicated routes"
) -> None:
    """Draw `graph` (`network.build_network`) with each of `clusters` (lists of route_ids) in its own colour,
    and save it to `path` (format from the suffix: PLOT_FORMATS)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    position = {node: (data["lon"], data["lat"]) for node, data in graph.nodes(data=True) if "lat" in data}
    edges = [(u, v, d) for u, v, d in graph.edges(data=True) if u in position and v in position]
    figure = Figure(figsize=(10, 10), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    segments = [(position[u], position[v]) for u, v, _ in edges]
    axes.add_collection(LineCollection(segments, colors="#d0d0d0", linewidths=0.6, zorder=1))
    for number, (group, colour) in enumerate(zip(clusters, _colours(len(clusters)), strict=True), start=1):
        members = set(group)
        mine = [
            (position[u], position[v]) for u, v, d in edges if members.intersection(d.get("route_ids", ()))
        ]
        label = _label(number, group) if number <= _LEGEND_CLUSTERS else "_nolegend_"
        axes.add_collection(
            LineCollection(mine, colors=[colour], linewidths=2.0, alpha=0.85, zorder=2, label=label)
        )
    if position:
        lons, lats = zip(*position.values(), strict=True)
        axes.set_xlim(min(lons) - 0.005, max(lons) + 0.005)
        axes.set_ylim(min(lats) - 0.005, max(lats) + 0.005)
        axes.set_aspect(1 / math.cos(math.radians(sum(lats) / len(lats))))
    axes.set_xlabel("longitude")
    axes.set_ylabel("latitude")
    axes.set_title(f"{title}: {len(clusters)} cluster(s) on {graph.number_of_nodes()} stop clusters")
    axes.tick_params(axis="x", labelrotation=45)
    if clusters:
        more = len(clusters) - _LEGEND_CLUSTERS
        axes.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.12),
            fontsize="small",
            title=f"the {_LEGEND_CLUSTERS} largest of {len(clusters)} clusters" if more > 0 else None,
        )
    figure.savefig(path, format=path.suffix.lstrip(".").lower() or "png", bbox_inches="tight")


def _colours(count: int) -> list[tuple[float, ...]]:
    from matplotlib import colormaps

    steps = 10 if count <= 10 else 20
    colormap = colormaps[f"tab{steps}"]
    return [tuple(colormap(k % steps)) for k in range(count)]


def _label(number: int, group: Sequence[str]) -> str:
    shown = ", ".join(group[:_LEGEND_ROUTES])
    more = f" and {len(group) - _LEGEND_ROUTES} more" if len(group) > _LEGEND_ROUTES else ""
    return f"{number}: {shown}{more}"
