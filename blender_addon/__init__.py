"""Mocap: import capture takes, retarget them onto rigs, export FBX/BVH, run the pipeline.

UI only: every operator collects its options and calls a plain function in ``ops_*.py`` (which also work
from scripts); failures become ``self.report({'ERROR'}, ...)``. The sidebar tab "Mocap" in the 3D view holds
the panel. Nothing is installed into Blender: the mocap modules are vendored into ``_vendor`` when the
add-on zip is built (``mocap addon build``), and the pipeline runs as a separate ``mocap`` process.
"""

import bpy
from bpy.props import BoolProperty, EnumProperty, PointerProperty, StringProperty
from bpy.types import Operator, Panel, PropertyGroup

_PRESET_ITEMS = [("default", "Default", "Blender and most tools"), ("unreal", "Unreal", "Unreal Engine 5"),
                 ("unity", "Unity", "Unity (scale baked to 1)"), ("mixamo", "Mixamo", "Mixamo, centimetres")]
_RIG_ITEMS_CACHE: list = []
_JOB = {"job": None}  # the one pipeline run in flight, polled by a timer


def _user_errors():
    """Exceptions that become operator reports instead of tracebacks."""
    from ._vendor.mocap.errors import MocapError

    return (MocapError, OSError, ValueError, KeyError, RuntimeError)


def _run(op, fn, *args, **kwargs):
    """Call ``fn`` with the operator's report; a user error becomes an ERROR report and CANCELLED."""
    try:
        fn(*args, report=lambda msg: op.report({"INFO"}, msg), **kwargs)
    except _user_errors() as exc:
        op.report({"ERROR"}, str(exc).replace("\n", " "))
        return {"CANCELLED"}
    return {"FINISHED"}


def _rig_items(self, context):
    if not _RIG_ITEMS_CACHE:
        from ._vendor.mocap.export.rigs import list_rigs

        _RIG_ITEMS_CACHE.append(("AUTO", "Auto (by bone names)", "Find the preset whose bone names match"))
        _RIG_ITEMS_CACHE.extend((n, n, f"rigs/{n}.toml") for n in list_rigs())
    return _RIG_ITEMS_CACHE


def _is_armature(self, obj):
    return obj.type == "ARMATURE"


class MocapSettings(PropertyGroup):
    source: PointerProperty(name="Take", type=bpy.types.Object, poll=_is_armature,
                            description="Armature of the imported take (the retarget source)")
    rig_preset: EnumProperty(name="Rig", items=_rig_items, description="Bone mapping of the target rig")
    foot_locking: BoolProperty(name="Foot locking", default=True, description="Keep planted feet from sliding")
    root_motion: BoolProperty(name="Root motion", default=True,
                              description="Move the root through the scene (off: animation in place)")
    export_preset: EnumProperty(name="Preset", items=_PRESET_ITEMS, default="default")
    session: StringProperty(name="Session", subtype="DIR_PATH", description="Session folder (session.toml)")
    executable: StringProperty(name="mocap", default="mocap",
                               description="The mocap command (e.g. /path/to/venv/bin/mocap)")
    status: StringProperty(name="Status", default="")


class MOCAP_OT_import_take(Operator):
    """Import a body_motion.npz take as an animated armature with body, cameras and 3D points (a people.toml:
    every performer of the take)"""

    bl_idname = "mocap.import_take"
    bl_label = "Import Take"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.npz;people.toml", options={"HIDDEN"})
    cameras: BoolProperty(name="Cameras", default=True, description="Add the session's calibrated cameras")
    points: BoolProperty(name="3D points", default=False, description="Add points3d.npz as animated empties")
    mesh: BoolProperty(name="Body mesh", default=True)
    rig_path: StringProperty(name="Camera rig", subtype="FILE_PATH", description="camera_rig.toml (default: the session's)")
    points_path: StringProperty(name="Points", subtype="FILE_PATH", description="points3d.npz (default: beside the take)")

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        from . import ops_import

        found = ops_import.find_session_files(self.filepath) if self.filepath else {}
        rig = (self.rig_path or found.get("rig")) if self.cameras else None
        points = (self.points_path or found.get("points")) if self.points else None

        def work(report):
            if ops_import.is_people_file(self.filepath):
                out = ops_import.import_people(context, self.filepath, rig_path=rig or None, points=self.points,
                                               with_mesh=self.mesh, report=report)[0]
            else:
                out = ops_import.import_take(context, self.filepath, rig_path=rig or None,
                                             points_path=points or None, with_mesh=self.mesh, report=report)
            context.scene.mocap.source = out["armature"]

        return _run(self, work)


class MOCAP_OT_retarget(Operator):
    """Bake the take onto the selected armature (Mixamo, UE5, Rigify, Unity or matched by bone names)"""

    bl_idname = "mocap.retarget"
    bl_label = "Retarget to Selected"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        from . import ops_retarget

        s = context.scene.mocap
        return _run(self, ops_retarget.retarget_to_armature, context, s.source, context.active_object,
                    preset=s.rig_preset, foot_locking=s.foot_locking, root_motion=s.root_motion)


class MOCAP_OT_export(Operator):
    """Export the selected armature and its animation as FBX or BVH"""

    bl_idname = "mocap.export"
    bl_label = "Export"

    filepath: StringProperty(subtype="FILE_PATH")
    format: EnumProperty(name="Format", items=[("FBX", "FBX", ""), ("BVH", "BVH", "")], default="FBX")
    preset: EnumProperty(name="Preset", items=_PRESET_ITEMS, default="default")

    def invoke(self, context, event):
        self.preset = context.scene.mocap.export_preset
        if not self.filepath:
            self.filepath = f"{context.active_object.name if context.active_object else 'take'}.{self.format.lower()}"
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        from . import ops_export

        return _run(self, ops_export.export_armature, context, context.active_object, self.filepath,
                    fmt=self.format.lower(), preset=self.preset)


class MOCAP_OT_run_pipeline(Operator):
    """Run `mocap run` on the session folder in the background and import the take when it finishes"""

    bl_idname = "mocap.run_pipeline"
    bl_label = "Run Pipeline"

    def execute(self, context):
        from . import ops_pipeline

        if _JOB["job"] is not None and _JOB["job"].poll():
            self.report({"ERROR"}, "a pipeline run is already in progress")
            return {"CANCELLED"}
        s = context.scene.mocap
        job = ops_pipeline.PipelineJob(bpy.path.abspath(s.executable) if s.executable.startswith("//")
                                       else s.executable, bpy.path.abspath(s.session))
        try:
            job.start()
        except OSError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        _JOB["job"] = job
        s.status = job.progress_text()
        bpy.app.timers.register(poll_pipeline, first_interval=0.5)
        self.report({"INFO"}, f"started: {' '.join(job.command())}")
        return {"FINISHED"}


class MOCAP_OT_cancel_pipeline(Operator):
    """Stop the running pipeline"""

    bl_idname = "mocap.cancel_pipeline"
    bl_label = "Cancel Run"

    def execute(self, context):
        job = _JOB["job"]
        if job is None:
            return {"CANCELLED"}
        job.cancel()
        context.scene.mocap.status = job.progress_text()
        return {"FINISHED"}


def poll_pipeline():
    """Timer callback: update the status, import the result when the run ends. Returns the next interval."""
    from . import ops_import, ops_pipeline

    job = _JOB["job"]
    if job is None:
        return None
    context = bpy.context
    running = job.poll()
    text = job.progress_text()
    if context.scene is not None:
        context.scene.mocap.status = text
    if context.workspace is not None:
        context.workspace.status_text_set(text if running else None)
    if running:
        return 0.5
    _JOB["job"] = None
    if job.returncode == 0:
        found = ops_pipeline.find_results(job.session)
        try:
            if found["people"] is not None:
                out = ops_import.import_people(context, found["people"], rig_path=found["rig"], report=print)[0]
                context.scene.mocap.source = out["armature"]
                context.scene.mocap.status = f"imported {found['people'].parent.name}"
            elif found["take"] is not None:
                out = ops_import.import_take(context, found["take"], rig_path=found["rig"],
                                             points_path=found["points"], report=print)
                context.scene.mocap.source = out["armature"]
                context.scene.mocap.status = f"imported {found['take']}"
            else:
                context.scene.mocap.status = f"done; no body_motion.npz found under {job.session}"
        except _user_errors() as exc:
            context.scene.mocap.status = f"import failed: {exc}"
    return None


class MOCAP_PT_panel(Panel):
    bl_label = "Mocap"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Mocap"

    def draw(self, context):
        s = context.scene.mocap
        layout = self.layout
        box = layout.box()
        box.label(text="Take", icon="ARMATURE_DATA")
        box.operator(MOCAP_OT_import_take.bl_idname, icon="IMPORT")
        box.prop(s, "source")
        box = layout.box()
        box.label(text="Retarget", icon="CON_ARMATURE")
        box.prop(s, "rig_preset")
        row = box.row()
        row.prop(s, "foot_locking")
        row.prop(s, "root_motion")
        box.operator(MOCAP_OT_retarget.bl_idname)
        box = layout.box()
        box.label(text="Export", icon="EXPORT")
        box.prop(s, "export_preset")
        row = box.row()
        row.operator(MOCAP_OT_export.bl_idname, text="FBX").format = "FBX"
        row.operator(MOCAP_OT_export.bl_idname, text="BVH").format = "BVH"
        box = layout.box()
        box.label(text="Pipeline", icon="PLAY")
        box.prop(s, "session")
        box.prop(s, "executable")
        row = box.row()
        row.operator(MOCAP_OT_run_pipeline.bl_idname)
        row.operator(MOCAP_OT_cancel_pipeline.bl_idname, text="", icon="CANCEL")
        if s.status:
            box.label(text=s.status)


def _menu_import(self, context):
    self.layout.operator(MOCAP_OT_import_take.bl_idname, text="Mocap take (body_motion.npz, people.toml)")


classes = (MocapSettings, MOCAP_OT_import_take, MOCAP_OT_retarget, MOCAP_OT_export, MOCAP_OT_run_pipeline,
           MOCAP_OT_cancel_pipeline, MOCAP_PT_panel)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.Scene.mocap = PointerProperty(type=MocapSettings)
    bpy.types.TOPBAR_MT_file_import.append(_menu_import)


def unregister():
    job = _JOB["job"]
    if job is not None:
        job.cancel()
        _JOB["job"] = None
    if bpy.app.timers.is_registered(poll_pipeline):
        bpy.app.timers.unregister(poll_pipeline)
    bpy.types.TOPBAR_MT_file_import.remove(_menu_import)
    del bpy.types.Scene.mocap
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
    _RIG_ITEMS_CACHE.clear()
