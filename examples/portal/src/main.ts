import { MedBridge, MedBridgeError } from "medbridge";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = $<HTMLInputElement>("q"), status = $("status"), hits = $("hits");

const mb = await MedBridge.load("./medbridge-assets/", {
  onProgress: (p) => (status.textContent = `Loading ${Math.round((100 * p.loaded) / (p.total || 1))} %`),
});
status.textContent = `Ready (${mb.backend})`;
input.disabled = false;

input.addEventListener("input", async () => {
  try {
    const { catalog } = await mb.search(input.value, { k: 5, lang: "es" });
    hits.replaceChildren(...catalog.map((h) => Object.assign(document.createElement("li"), { textContent: `${h.code} ${h.description}` })));
  } catch (e) {
    if (e instanceof MedBridgeError && e.code !== "superseded") status.textContent = `${e.code}: ${e.message}`;
  }
});
