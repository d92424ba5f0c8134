"""What the packaged app leaves out: Python modules, Qt modules and plugins, shared libraries.

``fame.spec`` builds from these lists and ``tests/packaging`` checks them against what the app
imports and loads, so a module or library the app starts to use cannot stay excluded unnoticed.
"""

from __future__ import annotations

# Qt: the platforms the app runs on (xcb desktop, offscreen for --self-test, minimal), SVG icons,
# keyboard input contexts; nothing for QML, WebEngine, 3D, Wayland, EGLFS, printing, SQL or TLS.
QT_PLUGINS_KEPT = frozenset(
    {
        "platforms/libqxcb.so",
        "platforms/libqoffscreen.so",
        "platforms/libqminimal.so",
        "xcbglintegrations/libqxcb-glx-integration.so",
        "imageformats/libqsvg.so",
        "imageformats/libqico.so",
        "iconengines/libqsvgicon.so",
        "platforminputcontexts/libcomposeplatforminputcontextplugin.so",
        "platforminputcontexts/libibusplatforminputcontextplugin.so",
    }
)
# fmt: off
QT_EXCLUDES = [
    "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.QtWebEngineQuick", "PySide6.QtWebChannel",
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtQuickControls2",
    "PySide6.Qt3DCore", "PySide6.Qt3DRender", "PySide6.Qt3DExtras", "PySide6.Qt3DInput", "PySide6.Qt3DLogic",
    "PySide6.QtCharts", "PySide6.QtDataVisualization", "PySide6.QtGraphs", "PySide6.QtMultimedia",
    "PySide6.QtMultimediaWidgets", "PySide6.QtPdf", "PySide6.QtPdfWidgets", "PySide6.QtDesigner",
    "PySide6.QtSql", "PySide6.QtTest", "PySide6.QtNetwork", "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets",
    "PySide6.QtPrintSupport", "PySide6.QtSvgWidgets", "PySide6.QtBluetooth", "PySide6.QtPositioning",
    "PySide6.QtSerialPort", "PySide6.QtUiTools", "PySide6.QtXml", "PySide6.QtHelp", "PySide6.QtSpatialAudio",
    "PySide6.QtRemoteObjects", "PySide6.QtScxml", "PySide6.QtSensors", "PySide6.QtStateMachine",
    "PySide6.QtTextToSpeech", "PySide6.QtWebSockets", "PySide6.QtHttpServer", "PySide6.QtConcurrent",
]
DEV_EXCLUDES = ["tkinter", "pytest", "_pytest", "hypothesis", "mypy", "IPython", "matplotlib", "PyQt5", "PyQt6"]
# fmt: on
# Collected through optional imports of dependencies, never loaded by the app (the packaging tests
# import every module of fame_desktop, the plugins and the libraries the app loads lazily, and
# check that none of these comes in): the desktop keyring stack with cryptography's 14 MB Rust
# library, dbm (Berkeley DB), the build tools and CPython's own test modules. (YAML stays: the
# gguf package, which checks local model files, imports it.)
# fmt: off
UNUSED_EXCLUDES = [
    "cryptography", "secretstorage", "keyring", "jeepney", "dbm", "_dbm", "_gdbm",
    "lib2to3", "pydoc_data", "distutils", "setuptools", "pip", "_testcapi", "_testinternalcapi",
    "_testbuffer", "_testmultiphase", "_testimportmultiple", "_testclinic", "_ctypes_test",
    "_xxtestfuzz", "xxlimited", "xxlimited_35", "xxsubtype",
    # numpy loads these on first use only (numpy.__getattr__) and nothing the app runs uses them;
    # readline: the app never imports it (the CLI reads lines with input()/stdin).
    "numpy.random", "numpy.fft", "numpy.f2py", "numpy.testing", "numpy.ma", "numpy.polynomial",
    # numpy.linalg's legacy LAPACK module (a 1.8 MB copy of lapack_lite when numpy has no BLAS):
    # numpy.linalg itself calls _umath_linalg.
    "numpy.linalg.lapack_lite",
    "readline",
    # fame serve's optional faster loop (a 13 MB library): the packaged CLI serves on asyncio's.
    "uvloop",
    # Terminal rendering for httpx's command-line client and pydantic's schema debug printer.
    "rich",
]
# fmt: on
EXCLUDES = QT_EXCLUDES + DEV_EXCLUDES + UNUSED_EXCLUDES

# Qt's own translations (7 MB): the app installs no QTranslator, its texts are English.
QT_DATA_DROPPED = ("PySide6/Qt/translations/",)

# Shared libraries collected with a package that the app never loads: llama.cpp's multimodal
# library (libmtmd, 1.8 MB) serves only the image chat handlers (llama_chat_format loads it in
# their constructors); the app chats in text.
UNUSED_LIBRARIES = ("llama_cpp/lib/libmtmd.so",)
