"""Writing frames as an animated GIF (Pillow) and an H.264 MP4 (PyAV, whose wheel ships FFmpeg and its encoders).

The video is encoded as frames arrive (a long timelapse is never held in memory as RGB); the GIF keeps
each frame as a 256-colour palette image (Pillow's fast octree quantiser: median cut took 0.6 s a 1024 px
frame, most of a timelapse's time) until the end, since Pillow writes a GIF in one call. Both are
written under temporary names and renamed when complete, so a reader never sees half a file, and
`abort` removes what was started. Nothing is downloaded at run time.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

CODECS = ("libx264", "h264", "mpeg4")  # the first one the installed FFmpeg has


def video_codec() -> str:
    """The first H.264 (else MPEG-4 part 2) encoder the PyAV wheel provides."""
    for name in CODECS:
        if name in av.codecs_available:
            try:
                av.codec.Codec(name, "w")
            except (ValueError, av.error.FFmpegError):
                continue
            return name
    raise RuntimeError("the installed PyAV has no H.264 or MPEG-4 encoder")


class FrameWriter:
    """Frames of one size in, `gif` and `video` out: add(frame) for each, then finish() (or abort())."""

    def __init__(self, gif: Path, video: Path | None, size: tuple[int, int], frame_ms: int) -> None:
        width, height = size
        if width % 2 or height % 2:
            raise ValueError(f"frame size {width} x {height}: H.264 needs even sides")
        self.gif, self.video, self.size, self.frame_ms = gif, video, size, frame_ms
        tag = uuid.uuid4().hex[:8]
        self._gif_tmp = gif.with_name(f".{gif.name}.{tag}")
        self._video_tmp = video.with_name(f".{video.stem}.{tag}{video.suffix}") if video else None
        self._palette_frames: list[Image.Image] = []
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        if self._video_tmp is not None:
            self._video_tmp.parent.mkdir(parents=True, exist_ok=True)
            self._container = av.open(str(self._video_tmp), mode="w", format="mp4")
            stream = self._container.add_stream(video_codec(), rate=Fraction(1000, frame_ms))
            if not isinstance(stream, av.video.stream.VideoStream):
                raise TypeError(f"{stream!r} is not a video stream")
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"
            if stream.codec_context.name == "libx264":  # a still-image slideshow: fast preset, near-lossless look
                stream.options = {"preset": "veryfast", "crf": "20"}
            self._stream = stream

    @property
    def count(self) -> int:
        """Frames added so far."""
        return len(self._palette_frames)

    def add(self, frame: Image.Image) -> None:
        """One more frame (RGB, of the writer's size)."""
        if frame.size != self.size:
            raise ValueError(f"frame of {frame.size}, the writer's frames are {self.size}")
        if self._container is not None and self._stream is not None:
            video_frame = av.VideoFrame.from_ndarray(np.asarray(frame.convert("RGB")), format="rgb24")
            video_frame.pts = None
            for packet in self._stream.encode(video_frame.reformat(format="yuv420p")):
                self._container.mux(packet)
        self._palette_frames.append(frame.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE))

    def finish(self) -> None:
        """Write the GIF, flush the video, and rename both into place. ValueError when no frame was added."""
        if not self._palette_frames:
            self.abort()
            raise ValueError("no frame to write")
        try:
            if self._container is not None and self._stream is not None:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
                self._container.close()
                self._container = None
            self.gif.parent.mkdir(parents=True, exist_ok=True)
            first, *rest = self._palette_frames
            first.save(self._gif_tmp, format="GIF", save_all=True, append_images=rest, duration=self.frame_ms,
                       loop=0, optimize=False)
            os.replace(self._gif_tmp, self.gif)
            if self._video_tmp is not None and self.video is not None:
                os.replace(self._video_tmp, self.video)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Close the video and remove the temporary files (nothing half-written is left)."""
        if self._container is not None:
            with contextlib.suppress(av.error.FFmpegError, OSError, ValueError):  # the file is removed below
                self._container.close()
            self._container = None
        self._gif_tmp.unlink(missing_ok=True)
        if self._video_tmp is not None:
            self._video_tmp.unlink(missing_ok=True)
