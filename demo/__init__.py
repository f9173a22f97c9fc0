"""The blue-green demo: PinVersions on an embedded AWS emulator (moto, in-process).

`python -m demo` plays the story in `samples/blue-green/` twice, with and without the
macro, and ends with one verdict line. Nothing here ships in the Lambda bundle (`macro/`).
"""
