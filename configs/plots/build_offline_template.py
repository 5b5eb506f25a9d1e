"""Build .dvc/plots/offline.html: DVC's plots page with Vega inlined, so `dvc plots show`
draws its charts without a network (DVC's own page loads Vega from a CDN and stays blank
offline). .dvc/config points plots.html_template at it.

The three libraries are the versions DVC's renderer asks the CDN for (dvc_render/vega.py),
fetched once from npm and checked against their sha256 (toolcall/registry.py); all three are
BSD-3-Clause (their licence headers stay in the minified files). Rerun after a DVC upgrade
that changes those versions:

    python configs/plots/build_offline_template.py
"""

from __future__ import annotations

from pathlib import Path

from toolcall.registry import Release, fetch

LIBRARIES = [
    (Release("npm", "vega", "5.20.2", "d77deab01d6104b1239228720721f93003e60797d2faced7ffdd759fa70f989d"),
     "build/vega.min.js"),
    (Release("npm", "vega-lite", "5.2.0", "f64ca4745f043447ac86b67dc9e9592ec2b85ac8b8dafc35faf970f142463e4b"),
     "build/vega-lite.min.js"),
    (Release("npm", "vega-embed", "6.18.2",
             "93aeee312e92077b0252ef026c0fe0ec8fa430c19825aeada6cd3a6804e68e1b"),
     "build/vega-embed.min.js"),
]
TEMPLATE = Path(__file__).resolve().parents[2] / ".dvc" / "plots" / "offline.html"


def build() -> str:
    """The page: DVC fills {plot_divs} (and {refresh_tag}); it has no {scripts}, so DVC adds no
    CDN tags."""
    scripts = "\n".join(f"<script>/* {release.name} {release.version} */\n"
                        f"{(fetch(release) / path).read_text(encoding='utf-8')}\n</script>"
                        for release, path in LIBRARIES)
    return ("<!DOCTYPE html>\n<html>\n<head>\n{refresh_tag}\n<meta charset=\"utf-8\">\n"
            "<title>DVC Plot</title>\n" + scripts +
            "\n<style>table { border-spacing: 15px; }</style>\n</head>\n<body>\n{plot_divs}\n"
            "</body>\n</html>\n")


if __name__ == "__main__":
    TEMPLATE.write_text(build(), encoding="utf-8")
    print(f"wrote {TEMPLATE} ({TEMPLATE.stat().st_size:,} bytes)")
