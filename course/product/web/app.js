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

async function classify(blob, name) {
  $("error").hidden = true;
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
    button.title = `test image ${s.test_index} (${s.label})`;
    button.dataset.label = s.label;
    const img = document.createElement("img");
    img.src = s.url;
    img.alt = s.label;
    button.append(img);
    button.addEventListener("click", async () => {
      const blob = await (await fetch(s.url)).blob();
      classify(blob, `CIFAR-10 test image ${s.test_index} (labelled ${s.label})`);
    });
    return button;
  }));
}

async function loadModelInfo() {
  const health = await (await fetch("/health")).json();
  if (health.test_accuracy != null) {
    const n = health.test_images.toLocaleString("en-US");
    $("model-info").textContent = `Test accuracy on ${n} CIFAR-10 test images: ${(100 * health.test_accuracy).toFixed(1)}%.`;
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
