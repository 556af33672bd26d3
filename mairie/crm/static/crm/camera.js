// The computer's or tablet's camera on the counter's scan page (crm/scans/new.html).
//
// Without this module the page is a plain file input (which, on phones, opens the camera by
// itself: `capture="environment"`). With it, when the browser offers a camera
// (`navigator.mediaDevices.getUserMedia`) and lets a script fill a file input (DataTransfer),
// a button opens the camera in the page: a live preview, a shot captured to a canvas, and the
// shot put into the same file input as a JPEG, sent with the form like a chosen file. A
// refused or missing camera leaves the file input as it was, with a message saying so.

const script = document.querySelector("script[data-camera-script]");
const box = document.querySelector("[data-camera]");
const input = box ? box.closest("form").querySelector('input[type="file"]') : null;

function supported() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia
    && window.DataTransfer && window.HTMLCanvasElement && input);
}

if (box && script && supported()) {
  const view = box.querySelector("[data-camera-view]");
  const video = box.querySelector("[data-camera-video]");
  const canvas = box.querySelector("[data-camera-canvas]");
  const status = box.querySelector("[data-camera-status]");
  const start = box.querySelector("[data-camera-start]");
  const capture = box.querySelector("[data-camera-capture]");
  const stop = box.querySelector("[data-camera-stop]");
  let stream = null;

  const say = (text) => { status.textContent = text; };

  const close = () => {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    view.hidden = true;
    start.hidden = false;
  };

  start.addEventListener("click", async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1920 },
                 height: { ideal: 1080 } },
        audio: false,
      });
    } catch (error) {
      stream = null;
      say(script.dataset.labelRefused);
      input.focus();
      return;
    }
    // The shot can be taken once the first picture has arrived.
    capture.disabled = true;
    video.addEventListener("loadeddata", () => { capture.disabled = false; capture.focus(); },
                           { once: true });
    video.srcObject = stream;
    view.hidden = false;
    start.hidden = true;
    say(script.dataset.labelStarted);
  });

  capture.addEventListener("click", () => {
    if (!stream || !video.videoWidth) return;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob((blob) => {
      if (!blob) { say(script.dataset.labelRefused); return; }
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
      const file = new File([blob], `${script.dataset.fileName}-${stamp}.jpg`,
                            { type: "image/jpeg" });
      const transfer = new DataTransfer();
      transfer.items.add(file);
      input.files = transfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
      canvas.hidden = false;
      close();
      say(script.dataset.labelTaken);
      start.focus();
    }, "image/jpeg", 0.92);
  });

  stop.addEventListener("click", () => { close(); start.focus(); });
  window.addEventListener("pagehide", close);
  box.hidden = false;
}
