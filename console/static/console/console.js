// Prism console: time labels in the reader's own zone, chart values on hover and keyboard focus, copy buttons.
"use strict";

function timeLabel(date, bucket, withDate) {
  if (bucket === "day") return date.toLocaleDateString(undefined, {month: "short", day: "numeric"});
  const time = date.toLocaleTimeString(undefined, {hour: "2-digit", minute: "2-digit"});
  return withDate ? date.toLocaleDateString(undefined, {month: "short", day: "numeric"}) + " " + time : time;
}

function bucketTitle(date, bucket) {
  const day = date.toLocaleDateString(undefined, {weekday: "short", month: "short", day: "numeric"});
  if (bucket === "day") return day;
  const end = new Date(date.getTime() + 3600 * 1000);
  const hm = (d) => d.toLocaleTimeString(undefined, {hour: "2-digit", minute: "2-digit"});
  return `${day}, ${hm(date)}–${hm(end)}`;
}

function zoneName() {
  const offset = -new Date().getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "−";
  const hours = Math.floor(Math.abs(offset) / 60), minutes = Math.abs(offset) % 60;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local";
  return `${zone}, UTC${sign}${hours}${minutes ? ":" + String(minutes).padStart(2, "0") : ""}`;
}

function chartSetUp(figure) {
  const bucket = figure.dataset.bucket;
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  let previousDay = null;
  figure.querySelectorAll(".xtick").forEach((tick) => {
    const date = new Date(tick.dataset.time);
    tick.textContent = timeLabel(date, bucket, date.toDateString() !== previousDay);
    previousDay = date.toDateString();
  });
  figure.querySelector(".xlabel").textContent = `time (${zoneName()})`;
  const tooltip = figure.querySelector(".tooltip");
  const svg = figure.querySelector("svg");
  function show(column) {
    const entry = data[Number(column.dataset.index)];
    tooltip.replaceChildren();
    const title = document.createElement("div");
    title.className = "time";
    title.textContent = bucketTitle(new Date(entry.t), bucket);
    tooltip.append(title);
    for (const [name, color, value] of entry.rows) {
      const row = document.createElement("div");
      row.className = "row";
      const label = document.createElement("span");
      if (color) {
        const swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.style.background = color;
        label.append(swatch);
      }
      label.append(name);
      const number = document.createElement("span");
      number.textContent = value;
      row.append(label, number);
      tooltip.append(row);
    }
    if (entry.total) {
      const total = document.createElement("div");
      total.className = "row";
      total.innerHTML = "<span>total</span><span></span>";
      total.lastChild.textContent = entry.total;
      tooltip.append(total);
    }
    tooltip.hidden = false;
    const box = column.getBoundingClientRect(), frame = figure.getBoundingClientRect();
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    let left = box.left - frame.left + box.width + 8;
    if (left + tooltip.offsetWidth > frame.width) left = box.left - frame.left - tooltip.offsetWidth - 8;
    tooltip.style.left = `${Math.max(0, left)}px`;
    tooltip.style.top = `${svg.getBoundingClientRect().top - frame.top + 20 * scale}px`;
  }
  figure.querySelectorAll(".column").forEach((column) => {
    column.addEventListener("mouseenter", () => show(column));
    column.addEventListener("focus", () => show(column));
    column.addEventListener("mouseleave", () => { tooltip.hidden = true; });
    column.addEventListener("blur", () => { tooltip.hidden = true; });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("figure.chart").forEach(chartSetUp);
  document.querySelectorAll("time[datetime]").forEach((time) => {
    time.title = new Date(time.getAttribute("datetime")).toLocaleString();
  });
  document.querySelectorAll("button.copy").forEach((button) => {
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copy).textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
      } catch (error) {
        const range = document.createRange();
        range.selectNodeContents(document.getElementById(button.dataset.copy));
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        document.execCommand("copy");
      }
      button.textContent = "Copied";
    });
  });
});
