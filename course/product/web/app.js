// The page's only script: send an image to POST /predict and draw the answer. No libraries.
"use strict";
const TOP = 5;  // classes shown as bars
const $ = (id) => document.getElementById(id);

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function showAnswer(answer) {
  $("label").textContent = answer.label;
  $("confidence").textContent = `(${(100 * answer.probability).toFixed(1)}%)`;
  const ranked = Object.entries(answer.probabilities).sort((a, b) => b[1] - a[1]).slice(0, TOP);
  $("bars").replaceChildren(...ranked.map(([name, p]) => {
    const li = document.createElement("li");
    li.dataset.label = name;
    const label = document.createElement("span");
    label.textContent = name;
    const bar = document.createElement("div");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    bar.append(fill);
    const pct = document.createElement("span");
    pct.className = "pct";
    pct.textContent = `${(100 * p).toFixed(1)}%`;
    li.append(label, bar, pct);
    return li;
  }));
}

// For a test image the page knows the true class: say whether the model got it right.
function showTruth(answer, truth) {
  const el = $("truth");
  el.hidden = truth == null;
  if (truth == null) return;
  const right = answer.label === truth;
  el.className = `truth ${right ? "right" : "wrong"}`;
  el.dataset.correct = String(right);
  el.textContent = right ? `\u2713 Right: this test image is a ${truth}.`
                         : `\u2717 Wrong: this test image is a ${truth}.`;
}

async function classify(blob, name, truth = null) {
  $("error").hidden = true;
  $("truth").hidden = true;
  $("result").hidden = false;
  $("preview").src = URL.createObjectURL(blob);
  $("caption").textContent = name;
  $("label").textContent = "…";
  $("confidence").textContent = "";
  $("bars").replaceChildren();
  document.body.dataset.state = "busy";
  const form = new FormData();
  form.append("file", blob, name);
  try {
    const response = await fetch("/predict", { method: "POST", body: form });
    const body = await response.json();
    if (!response.ok) {
      $("result").hidden = true;
      showError(`The server could not classify ${name}: ${body.detail}`);
    } else {
      showAnswer(body);
      showTruth(body, truth);
    }
  } catch (err) {
    $("result").hidden = true;
    showError(`The server did not answer: ${err}`);
  } finally {
    document.body.dataset.state = "done";
  }
}

async function loadSamples() {
  const response = await fetch("/samples");
  const samples = await response.json();
  $("samples").replaceChildren(...samples.map((s) => {
    const button = document.createElement("button");
    button.type = "button";
    button.title = `CIFAR-10 test image ${s.test_index}, true class ${s.label}`;
    button.dataset.label = s.label;
    const img = document.createElement("img");
    img.src = s.url;
    img.alt = `test image ${s.test_index}, a ${s.label}`;
    const caption = document.createElement("span");
    caption.className = "true-class";
    caption.textContent = s.label;
    button.append(img, caption);
    button.addEventListener("click", async () => {
      document.body.dataset.state = "busy";  // from the click: the sample's own fetch takes a moment too
      const blob = await (await fetch(s.url)).blob();
      classify(blob, `CIFAR-10 test image ${s.test_index} (true class: ${s.label})`, s.label);
    });
    return button;
  }));
}

async function loadModelInfo() {
  const health = await (await fetch("/health")).json();
  if (health.test_accuracy != null) {
    const n = health.test_images.toLocaleString("en-US");
    $("model-info").textContent = `Test accuracy on ${n} CIFAR-10 test images (from the model card): ${(100 * health.test_accuracy).toFixed(1)}%.`;
  }
}

$("file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (file) classify(file, file.name);
});
const drop = $("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  const file = event.dataTransfer.files[0];
  if (file) classify(file, file.name);
});
loadSamples().catch((err) => showError(`Could not load the sample images: ${err}`));
loadModelInfo().catch(() => {});
