"""Draw AutoEncNetLite's computational graph (the homework's Figure 1) as docs/graph.png.

    python tools/draw_graph.py [OUT.png]

The homework text we have lost its Figure 1; SPEC.md writes the graph out as equations.
This draws it: the input x, each layer with its operation and the shape of its output,
the parameter-free reduce x 3, the sum, the output y and the loss. The layers whose
arrays SGD trains are drawn apart from the fixed Layer_rec. Matplotlib only, no Graphviz.
"""

import pathlib
import sys

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

OUT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "graph.png"

TRAINED = {"facecolor": "#fde3c8", "edgecolor": "#d9730d"}  # arrays that SGD updates
FIXED = {"facecolor": "#e6e6e6", "edgecolor": "#7a7a7a"}  # arrays that stay as initialised
PLAIN = {"facecolor": "white", "edgecolor": "#333333"}  # no parameters

# name: (centre x, centre y, width, height, colours, title, lines below the title)
NODES = {
    "x": (
        5.0,
        11.0,
        4.6,
        1.0,
        PLAIN,
        "x: the input, (N, 225)",
        ["N images: 15 x 15 pixels / 255"],
    ),
    "in": (
        2.4,
        8.7,
        4.4,
        1.5,
        TRAINED,
        "Layer_in",
        ["a_in = x @ w_in.T + b_in", "z_in = ReLU(a_in)    (N, 75)"],
    ),
    "rec": (
        2.4,
        6.2,
        4.4,
        1.5,
        FIXED,
        "Layer_rec (not trained)",
        ["a_rec = z_in @ w_rec.T + b_rec", "z_rec = ReLU(a_rec)    (N, 75)"],
    ),
    "reduce": (
        7.6,
        8.7,
        4.0,
        1.5,
        PLAIN,
        "reduce x 3",
        ["x_reduce: the mean of each 3", "neighbouring pixels    (N, 75)"],
    ),
    "link": (
        7.6,
        6.2,
        4.0,
        1.5,
        TRAINED,
        "Layer_link (no bias)",
        ["a_link = x_reduce @ w_link.T", "z_link = a_link    (N, 75)"],
    ),
    "sum": (5.0, 4.1, 3.6, 1.0, PLAIN, "+", ["z_sum = z_rec + z_link    (N, 75)"]),
    "out": (
        5.0,
        2.3,
        4.4,
        1.5,
        TRAINED,
        "Layer_out",
        ["a_out = z_sum @ w_out.T + b_out", "y = ReLU(a_out)    (N, 225)"],
    ),
    "loss": (5.0, 0.55, 4.4, 1.0, PLAIN, "loss", ["L = sum((y - x) ** 2)    a number"]),
}
EDGES = [
    ("x", "in", "x (N, 225)"),
    ("x", "reduce", "x (N, 225)"),
    ("in", "rec", "z_in"),
    ("reduce", "link", "x_reduce"),
    ("rec", "sum", "z_rec"),
    ("link", "sum", "z_link"),
    ("sum", "out", "z_sum"),
    ("out", "loss", "y"),
]
PARAMETERS = {  # the arrays beside each layer
    "in": "w_in (75, 225), b_in (1, 75)",
    "rec": "w_rec = I (75, 75), b_rec = 0 (1, 75)",
    "link": "w_link (75, 75)",
    "out": "w_out (225, 75)\nb_out (1, 225)",
}


BOX = {"linewidth": 1.6, "boxstyle": "round,pad=0.02,rounding_size=0.15"}
ARROW = {"arrowstyle": "-|>", "mutation_scale": 14, "color": "#333333", "shrinkA": 2, "shrinkB": 2}
DASHED = {"linestyle": "--", "linewidth": 1.0, "color": "#777777"}
LABEL = {"fontsize": 8.5, "style": "italic", "color": "#444444", "va": "center"}


def draw_node(ax, name):
    cx, cy, w, h, colours, title, lines = NODES[name]
    ax.add_patch(FancyBboxPatch((cx - w / 2, cy - h / 2), w, h, **BOX, **colours))
    ax.text(cx, cy + h / 2 - 0.28, title, ha="center", va="center", fontsize=11, weight="bold")
    for i, line in enumerate(lines):
        y = cy + h / 2 - 0.68 - 0.38 * i
        ax.text(cx, y, line, ha="center", va="center", fontsize=9.5, family="monospace")


def draw_edge(ax, source, target, label):
    (sx, sy, _, sh, *_), (tx, ty, _, th, *_) = NODES[source], NODES[target]
    start, end = (sx, sy - sh / 2), (tx, ty + th / 2)
    ax.add_patch(FancyArrowPatch(start, end, linewidth=1.3, **ARROW))
    ax.text((start[0] + end[0]) / 2 + 0.12, (start[1] + end[1]) / 2, label, ha="left", **LABEL)


def draw(out=OUT):
    fig = Figure(figsize=(9, 10.5))
    ax = fig.add_axes((0, 0, 1, 0.93))
    ax.set_xlim(-0.6, 10.6)
    ax.set_ylim(-0.2, 11.8)
    ax.axis("off")
    for source, target, label in EDGES:
        draw_edge(ax, source, target, label)
    # the loss compares y with the input itself: a dashed line round the left side
    x_left, loss_left = 5.0 - NODES["x"][2] / 2, 5.0 - NODES["loss"][2] / 2
    ax.plot([x_left, -0.25, -0.25], [11.0, 11.0, 0.55], **DASHED)
    ax.add_patch(FancyArrowPatch((-0.25, 0.55), (loss_left, 0.55), **{**ARROW, **DASHED}))
    ax.text(-0.42, 3.2, "x, the target of the loss", rotation=90, ha="center", **LABEL)
    for name in NODES:
        draw_node(ax, name)
    for name, text in PARAMETERS.items():  # each layer's arrays, clear of the arrows
        cx, cy, w, h, colours, *_ = NODES[name]
        x, y, align = {
            "out": (cx + w / 2 + 0.15, cy, "left"),  # beside the box
            "link": (cx + w / 2, cy - h / 2 - 0.3, "right"),  # under it, on the right
        }.get(name, (cx - w / 2, cy - h / 2 - 0.3, "left"))  # under it, on the left
        ax.text(x, y, text, fontsize=8, ha=align, va="center", color=colours["edgecolor"])
    legend = [
        Patch(label="trained by SGD", **TRAINED),
        Patch(label="fixed: never trained", **FIXED),
        Patch(label="no parameters", **PLAIN),
    ]
    ax.legend(handles=legend, loc="lower right", fontsize=9, frameon=False)
    fig.suptitle(
        "AutoEncNetLite: the computational graph (weights are (out, in), as in the course)\n"
        "backprop walks these arrows in reverse: docs/backprop.md",
        fontsize=11,
    )
    fig.savefig(out, format="png", dpi=100, metadata={"Software": None})
    return fig


if __name__ == "__main__":
    target = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    draw(target)
    print("wrote", target)
