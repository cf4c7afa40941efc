"""Optional pictures for the examples: drawn with matplotlib when it is installed, a note when not."""
import os


def figure(path, what, **subplots):
    """``(fig, ax)`` to draw ``what`` into, or None (after saying so) when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"(install matplotlib to get {what} as an image)")
        return None
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    return plt.subplots(**subplots)


def save(fig, path, dpi=100):
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    print(f"wrote {path}")
