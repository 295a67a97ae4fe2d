"""The camera panel: a live preview with a target box, camera choice, states, and "open image".

Two frame paths, one decoder (device.scanner):
- web, Android, iOS: the flet-camera `Camera` control. The web build cannot stream frames, so the
  panel polls take_picture() at a throttled rate and decodes each JPEG off the UI loop.
- desktop (Windows, macOS, Linux): OpenCV reads the webcam in a worker thread that also decodes;
  the panel shows its preview JPEGs in an ft.Image about 15 times a second.
An accepted read flashes the target box, beeps (flet-audio), vibrates where the device can
(HapticFeedback; browsers ignore it), and goes to the scan screen's submit path.

The camera is released when the panel closes, and when it leaves the page for any other reason
(another screen, sign-out): the host control's will_unmount stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from ...device.scanner import CameraError, CameraProblem, FrameWorker, VideoSource, list_webcams
from ..camera_vm import CameraChoice, CameraViewModel, CamStatus, Submission
from ..i18n import t
from ..sounds import sounds_for
from ..widgets import labelled

log = logging.getLogger("store_associate.ui.camera")

PREVIEW_W, PREVIEW_H = 360, 270
FAINT_WHITE = ft.Colors.with_opacity(0.7, ft.Colors.WHITE)
DIM_WHITE = ft.Colors.with_opacity(0.54, ft.Colors.WHITE)
TARGET_W, TARGET_H = 240, 130
DESKTOP_FPS = 15.0
TAKE_PICTURE_TIMEOUT_S = 5.0

_PROBLEM_STATUS = {
    CameraProblem.NONE: CamStatus.NO_CAMERA,
    CameraProblem.DENIED: CamStatus.DENIED,
    CameraProblem.FAILED: CamStatus.FAILED,
}


@ft.control
class _Host(ft.Container):
    """A container that tells the panel when it leaves the page."""

    def will_unmount(self) -> None:
        super().will_unmount()
        panel = getattr(self, "panel", None)
        if panel is not None:
            panel.release()


class CameraPanel:
    def __init__(
        self,
        page: ft.Page,
        vm: CameraViewModel,
        on_read: Callable[[Submission], Awaitable[None]],
        on_close: Callable[[], Awaitable[None]],
        camera_file: str = "",
    ) -> None:
        """`camera_file`: a video the desktop panel plays as its only camera (Settings.camera_file: demos, tests,
        machines without a webcam); empty: the machine's webcams."""
        self.page, self.vm, self.on_read, self.on_close = page, vm, on_read, on_close
        self.camera_file = camera_file
        self.use_plugin = bool(page.web) or page.platform in (ft.PagePlatform.ANDROID, ft.PagePlatform.IOS)
        self._running = False
        self._task: Any = None
        self._worker: FrameWorker | None = None
        self._camera: Any = None  # flet_camera.Camera
        self._frame_no = 0

        self.status = ft.Text("", size=14, weight=ft.FontWeight.BOLD)
        self.help = ft.Text("", size=13, color=ft.Colors.ON_SURFACE_VARIANT)
        self.notice = ft.Text("", size=13)
        self.chooser = ft.Dropdown(
            label=t("camera.choose"), options=[], width=240, dense=True, on_select=self._on_choose, visible=False
        )
        self.retry = ft.TextButton(t("camera.retry"), icon=ft.Icons.REFRESH, on_click=self._on_retry, visible=False)
        self.preview = ft.Container(
            width=PREVIEW_W, height=PREVIEW_H, bgcolor=ft.Colors.BLACK, alignment=ft.Alignment.CENTER
        )
        self.target = ft.Container(
            width=TARGET_W,
            height=TARGET_H,
            border=ft.Border.all(3, FAINT_WHITE),
            border_radius=ft.BorderRadius.all(10),
        )
        self.flash = ft.Container(
            width=PREVIEW_W,
            height=PREVIEW_H,
            bgcolor=ft.Colors.GREEN_ACCENT_400,
            opacity=0.0,
            animate_opacity=ft.Animation(180, ft.AnimationCurve.EASE_OUT),
        )
        stack = ft.Stack(
            [
                self.preview,
                ft.Container(self.target, width=PREVIEW_W, height=PREVIEW_H, alignment=ft.Alignment.CENTER),
                self.flash,
            ],
            width=PREVIEW_W,
            height=PREVIEW_H,
        )
        self.picker: ft.FilePicker | None = None
        header = ft.Row(
            [
                ft.Icon(ft.Icons.PHOTO_CAMERA, color=ft.Colors.PRIMARY),
                ft.Text(t("camera.title"), size=16, weight=ft.FontWeight.BOLD, expand=True),
                labelled(
                    "camera-open-image",
                    ft.TextButton(t("camera.open_image"), icon=ft.Icons.IMAGE_OUTLINED, on_click=self._on_open_image),
                ),
                labelled(
                    "camera-close", ft.IconButton(ft.Icons.CLOSE, tooltip=t("camera.close"), on_click=self._on_close)
                ),
            ]
        )
        self.root = _Host(
            ft.Column(
                [
                    header,
                    ft.ResponsiveRow(
                        [
                            ft.Container(
                                stack,
                                border_radius=ft.BorderRadius.all(12),
                                clip_behavior=ft.ClipBehavior.HARD_EDGE,
                                width=PREVIEW_W,
                                height=PREVIEW_H,
                                col={"xs": 12, "md": 6},
                            ),
                            ft.Column(
                                [
                                    labelled("camera-status", self.status),
                                    self.help,
                                    labelled("camera-notice", self.notice),
                                    self.chooser,
                                    self.retry,
                                ],
                                spacing=6,
                                tight=True,
                                col={"xs": 12, "md": 6},
                            ),
                        ],
                        vertical_alignment=ft.CrossAxisAlignment.START,
                        spacing=12,
                        run_spacing=8,
                    ),
                ],
                spacing=8,
            ),
            padding=ft.Padding.all(12),
            border_radius=ft.BorderRadius.all(12),
            bgcolor=ft.Colors.SURFACE_CONTAINER_LOW,
        )
        self.root.panel = self
        self.render()

    # --- drawing --------------------------------------------------------------------------------

    def render(self) -> None:
        vm = self.vm
        self.status.value = vm.status_text
        self.status.color = {
            CamStatus.LIVE: ft.Colors.GREEN_800,
            CamStatus.DENIED: ft.Colors.ERROR,
            CamStatus.NO_CAMERA: ft.Colors.ORANGE_800,
            CamStatus.FAILED: ft.Colors.ERROR,
        }.get(vm.status, ft.Colors.ON_SURFACE)
        self.help.value = vm.help_text
        self.notice.value = vm.notice
        self.retry.visible = vm.can_retry
        self.chooser.visible = len(vm.cameras) > 1
        self.chooser.options = [ft.DropdownOption(key=c.key, text=c.label) for c in vm.cameras]
        self.chooser.value = vm.camera.key if vm.camera else None
        flashing = vm.flashing()
        self.target.border = ft.Border.all(
            4 if flashing or vm.in_view else 3, ft.Colors.GREEN_ACCENT_400 if flashing or vm.in_view else FAINT_WHITE
        )
        self.flash.opacity = 0.55 if flashing else 0.0
        if vm.status is not CamStatus.LIVE and not (self.use_plugin and self._camera is not None):
            icon = {
                CamStatus.DENIED: ft.Icons.NO_PHOTOGRAPHY,
                CamStatus.NO_CAMERA: ft.Icons.NO_PHOTOGRAPHY,
                CamStatus.FAILED: ft.Icons.ERROR_OUTLINE,
            }.get(vm.status)
            self.preview.content = ft.Icon(icon, size=56, color=DIM_WHITE) if icon else ft.ProgressRing()

    def _update(self) -> None:
        self.render()
        self.page.update()

    # --- life cycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Find the cameras and start the first one. Call after the panel is on the page."""
        self.vm.starting()
        self._update()
        if self.use_plugin:
            await self._start_plugin()
        else:
            await self._start_desktop()

    def release(self) -> None:
        """Stop the frame loop and let go of the camera (idempotent, never raises)."""
        self._running = False
        if self._task is not None:
            with contextlib.suppress(Exception):  # already finished
                self._task.cancel()
            self._task = None
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
        if self._camera is not None:
            # Removing the control disposes the camera controller on the client.
            self.preview.content = None
            self._camera = None
        if self.vm.status is not CamStatus.CLOSED:
            self.vm.closed()

    async def _on_close(self, _e: ft.Event | None = None) -> None:
        self.release()
        await self.on_close()

    async def _on_retry(self, _e: ft.Event) -> None:
        self.release()
        self.vm.status = CamStatus.IDLE
        await self.start()

    async def _on_choose(self, e: ft.Event) -> None:
        if self.vm.choose(str(self.chooser.value)):
            self.release()
            self.vm.status = CamStatus.IDLE
            await self.start()

    # --- web and mobile: flet-camera ----------------------------------------------------------

    async def _start_plugin(self) -> None:
        try:
            import flet_camera as fc
        except ImportError:
            self.vm.fail(CamStatus.FAILED, "flet-camera is not installed")
            self._update()
            return
        if self._camera is None:
            self._camera = fc.Camera(preview_enabled=True, width=PREVIEW_W, height=PREVIEW_H)
            self.preview.content = self._camera
            self._update()
        try:
            found = await self._camera.get_available_cameras()
            if not self.vm.cameras:
                self.vm.set_cameras(
                    [
                        CameraChoice(
                            c.name,
                            c.name or t("camera.number", n=i + 1),
                            mirrored=bool(self.page.web) or c.lens_direction != fc.CameraLensDirection.BACK,
                        )
                        for i, c in enumerate(found)
                    ]
                )
                # A tablet's back camera is the one for labels; the browser lists what it has.
                backs = [i for i, c in enumerate(found) if c.lens_direction == fc.CameraLensDirection.BACK]
                if backs:
                    self.vm.selected = backs[0]
            if not found:
                self._show_problem()
                return
            chosen = next((c for c in found if c.name == self.vm.camera.key), found[0])
            await self._camera.initialize(chosen, fc.ResolutionPreset.MEDIUM, enable_audio=False)
        except Exception as exc:  # noqa: BLE001 - the plug-in reports everything as exceptions
            log.info("camera start failed: %r", exc)
            self.vm.fail(str(exc), repr(exc))
            self._show_problem()
            return
        self.vm.live()
        self._running = True
        self._update()
        self._task = self.page.run_task(self._poll_plugin)

    def _show_problem(self) -> None:
        if self._camera is not None:
            self.preview.content = None
            self._camera = None
        self._update()

    async def _poll_plugin(self) -> None:
        failures = 0
        try:
            while self._running and self._camera is not None:
                t0 = time.perf_counter()
                try:
                    data = await asyncio.wait_for(self._camera.take_picture(), TAKE_PICTURE_TIMEOUT_S)
                    failures = 0
                except (TimeoutError, asyncio.CancelledError):
                    raise
                except Exception as exc:  # noqa: BLE001 - one lost capture is no reason to stop
                    failures += 1
                    if failures >= 3:
                        self.vm.fail(CamStatus.FAILED, repr(exc))
                        self._show_problem()
                        return
                    await asyncio.sleep(0.3)
                    continue
                if not self._running:
                    return
                capture_s = time.perf_counter() - t0
                sub = await asyncio.to_thread(self.vm.process_jpeg, bytes(data or b""), capture_s)
                log.debug(
                    "frame %d: %d bytes, capture %.0f ms, decode %.0f ms, %d in view",
                    self.vm.frames,
                    len(data or b""),
                    capture_s * 1000,
                    self.vm.scanner.last_decode_ms,
                    self.vm.in_view,
                )
                await self._after_frame(sub)
                await asyncio.sleep(self.vm.poll_interval)
        except TimeoutError:
            self.vm.fail(CamStatus.FAILED, "take_picture timed out")
            self._show_problem()
        except (asyncio.CancelledError, RuntimeError) as exc:
            log.info("camera loop ended: %r", exc)
            return  # closed, or the browser session ended

    async def _after_frame(self, sub: Submission | None) -> None:
        if not self._running:
            return
        if sub is not None:
            self._update()
            self.page.run_task(sounds_for(self.page).ok)
            await self._haptic()
            self.page.run_task(self.on_read, sub)
            await asyncio.sleep(0.2)
        self._update()

    async def _haptic(self) -> None:
        if self.page.platform not in (ft.PagePlatform.ANDROID, ft.PagePlatform.IOS) or self.page.web:
            return
        try:
            await ft.HapticFeedback().medium_impact()
        except Exception as exc:  # noqa: BLE001 - no vibrator: the flash is enough
            log.debug("no haptic feedback: %r", exc)

    # --- desktop: OpenCV in a worker thread ------------------------------------------------------

    async def _start_desktop(self) -> None:
        if not self.vm.cameras:
            if self.camera_file:
                self.vm.set_cameras([CameraChoice(self.camera_file, t("camera.file"), mirrored=False)])
            else:
                indexes = await asyncio.to_thread(list_webcams)
                self.vm.set_cameras(
                    [CameraChoice(str(i), t("camera.number", n=i + 1), mirrored=False) for i in indexes]
                )
        if self.vm.camera is None:
            self._update()
            return
        key = self.vm.camera.key
        source = VideoSource(int(key), loop=False) if key.isdigit() else VideoSource(key, loop=True)
        worker = self.vm.scanner.worker(source, max_fps=DESKTOP_FPS * 2)
        try:
            await asyncio.to_thread(worker.start)
        except CameraError as exc:
            self.vm.fail(_PROBLEM_STATUS[exc.problem], exc.detail)
            self._update()
            return
        self._worker = worker
        self.vm.live()
        self._running = True
        self._update()
        self._task = self.page.run_task(self._poll_desktop)

    async def _poll_desktop(self) -> None:
        try:
            while self._running and self._worker is not None:
                worker = self._worker
                if worker.error is not None:
                    self.vm.fail(_PROBLEM_STATUS[worker.error.problem], worker.error.detail)
                    self.release()
                    self.vm.status = _PROBLEM_STATUS[worker.error.problem]
                    self._update()
                    return
                report = worker.latest()
                if report is not None and report.frame_no != self._frame_no:
                    self._frame_no = report.frame_no
                    image = self.preview.content
                    if isinstance(image, ft.Image):
                        image.src = report.jpeg
                    else:
                        self.preview.content = ft.Image(
                            src=report.jpeg,
                            gapless_playback=True,
                            fit=ft.BoxFit.CONTAIN,
                            width=PREVIEW_W,
                            height=PREVIEW_H,
                        )
                    subs = [self.vm.handle(report.results, a) for a in worker.accepted()]
                    if not subs:
                        self.vm.handle(report.results, None)
                    for sub in subs:
                        if sub is not None:
                            self.page.run_task(self.on_read, sub)
                    self._update()
                await asyncio.sleep(1.0 / DESKTOP_FPS)
        except (asyncio.CancelledError, RuntimeError):
            self.release()

    # --- open an image (the counter) -------------------------------------------------------------

    async def _on_open_image(self, _e: ft.Event) -> None:
        if self.picker is None:
            self.picker = ft.FilePicker()
        files = await self.picker.pick_files(
            dialog_title=t("camera.open_image"), file_type=ft.FilePickerFileType.IMAGE, with_data=True
        )
        if not files:
            return
        f = files[0]
        data = f.bytes
        if data is None and f.path:
            data = await asyncio.to_thread(_read_file, f.path)
        sub = await asyncio.to_thread(self.vm.process_image, data, f.name)
        self._update()
        if sub is not None:
            await self.on_read(sub)


def _read_file(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None
