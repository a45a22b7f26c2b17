/* tinygrad_attn attention explorer: plain JavaScript, no library, no network.
   Reads the JSON in #explorer-data (written by tinygrad_attn.viz.explore) and draws into #explorer.
   Every text from the data is written with textContent (never as markup). */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("explorer-data").textContent);
  var root = document.getElementById("explorer");
  var SVGNS = "http://www.w3.org/2000/svg";
  var state = { input: 0, step: 0, showPad: false, order: "written", kind: "cross", big: null, head: 0 };

  // ------------------------------------------------------------------ helpers
  var cache = new WeakMap();
  function arr(o) {                       // embedded {dtype, shape, data} -> typed array (+ shape)
    if (!o) return null;
    if (cache.has(o)) return cache.get(o);
    var bin = atob(o.data), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var T = { f4: Float32Array, f8: Float64Array, i4: Int32Array, u1: Uint8Array }[o.dtype];
    var a = new T(bytes.buffer);
    a.shape = o.shape;
    cache.set(o, a);
    return a;
  }
  function at(a, idx) {                   // a[idx...] for a row-major array
    var k = 0;
    for (var d = 0; d < idx.length; d++) k = k * a.shape[d] + idx[d];
    return a[k];
  }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    for (var k in (attrs || {})) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "cls") e.className = attrs[k];
      else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function sv(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in (attrs || {})) {
      if (k === "text") e.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    }
    return e;
  }
  function vis(c) { return c === " " ? "\u2423" : c === "\t" ? "\u21e5" : c === "\n" ? "\u23ce" : c; }
  function fmt(x, d) {
    if (!isFinite(x)) return String(x);
    d = d === undefined ? 3 : d;
    return Math.abs(x) >= 1000 ? x.toExponential(2) : x.toFixed(d);
  }
  var VIRIDIS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
                 [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];
  function viridis(v) {
    v = Math.max(0, Math.min(1, isFinite(v) ? v : 0)) * (VIRIDIS.length - 1);
    var i = Math.min(Math.floor(v), VIRIDIS.length - 2), f = v - i, a = VIRIDIS[i], b = VIRIDIS[i + 1];
    return "rgb(" + [0, 1, 2].map(function (j) { return Math.round(a[j] + f * (b[j] - a[j])); }).join(",") + ")";
  }
  function diverging(v) {                 // v in [-1, 1]: blue - white - red
    v = Math.max(-1, Math.min(1, isFinite(v) ? v : 0));
    var t = Math.abs(v), c = v < 0 ? [33, 102, 172] : [178, 24, 43];
    return "rgb(" + [0, 1, 2].map(function (j) { return Math.round(255 + t * (c[j] - 255)); }).join(",") + ")";
  }
  function ink(bg) {                      // readable text colour on a background
    var m = bg.match(/\d+/g).map(Number);
    return (0.299 * m[0] + 0.587 * m[1] + 0.114 * m[2]) > 140 ? "#000" : "#fff";
  }
  // After the page is redrawn under a resting pointer the browser sends a mousemove at the
  // same place; only a move to a new place may choose a decoder step by hovering.
  var lastXY = null;
  document.addEventListener("mousemove", function (ev) {
    var xy = ev.clientX + "," + ev.clientY;
    ev.pointerMoved = xy !== lastXY;
    lastXY = xy;
  }, true);
  var tip = el("div", { id: "tip" });
  document.body.appendChild(tip);
  function showTip(ev, text) {
    tip.textContent = text;
    tip.style.display = "block";
    tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - 260) + "px";
    tip.style.top = (ev.clientY + 14) + "px";
  }
  function hideTip() { tip.style.display = "none"; }
  function hover(node, text) {
    node.addEventListener("mousemove", function (ev) { showTip(ev, typeof text === "function" ? text() : text); });
    node.addEventListener("mouseleave", hideTip);
  }
  function maxAbs(a, from, n) {
    var m = 0;
    for (var i = from; i < from + n; i++) if (isFinite(a[i])) m = Math.max(m, Math.abs(a[i]));
    return m || 1;
  }

  // ------------------------------------------------------------------ heatmaps
  // rows/cols: label lists; value(r, c) -> number; opts: {cell, color, rowsel, colsel, onrow, tip, cls, padCols}
  function heatmap(rows, cols, value, opts) {
    var cw = opts.cell || 18, ch = opts.cellH || cw, lw = opts.noLabels ? 0 : (opts.rowLabelWidth || 22);
    var th = opts.noLabels ? 0 : 19;
    var W = lw + cols.length * cw, H = th + rows.length * ch;
    var svg = sv("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": opts.cls || "heatmap" });
    if (!opts.noLabels) {
      cols.forEach(function (c, j) {
        var t = sv("text", { x: lw + j * cw + cw / 2, y: 12, "text-anchor": "middle", text: vis(c) });
        if (opts.padCols && opts.padCols[j]) t.setAttribute("class", "pad");
        svg.appendChild(t);
      });
      rows.forEach(function (r, i) {
        var t = sv("text", { x: lw - 4, y: th + i * ch + ch / 2 + 4, "text-anchor": "end", text: vis(r) });
        if (opts.onrow) { t.style.cursor = "pointer"; t.addEventListener("click", function () { opts.onrow(i); }); }
        svg.appendChild(t);
      });
    }
    for (var i = 0; i < rows.length; i++) {
      for (var j = 0; j < cols.length; j++) {
        var v = value(i, j);
        var rect = sv("rect", { x: lw + j * cw, y: th + i * ch, width: cw, height: ch,
                                fill: (opts.color || viridis)(v), "class": "cell",
                                "data-row": i, "data-col": j, "data-v": String(v) });
        if (opts.tip) hover(rect, opts.tip.bind(null, i, j, v));
        if (opts.onrow) (function (ii) { rect.addEventListener("click", function () { opts.onrow(ii); }); })(i);
        svg.appendChild(rect);
      }
    }
    if (opts.rowsel !== undefined && opts.rowsel !== null && opts.rowsel < rows.length)
      svg.appendChild(sv("rect", { x: lw, y: th + opts.rowsel * ch, width: cols.length * cw, height: ch, "class": "rowsel" }));
    if (opts.colsel !== undefined && opts.colsel !== null && opts.colsel < cols.length)
      svg.appendChild(sv("rect", { x: lw + opts.colsel * cw, y: th, width: cw, height: rows.length * ch, "class": "colsel" }));
    return svg;
  }

  // ------------------------------------------------------------------ controls
  function rerender() { hideTip(); draw(); }
  function setStep(t) { if (t !== state.step) { state.step = t; rerender(); } }
  function maxSteps() {
    return Math.max.apply(null, DATA.panels.map(function (p) {
      if (p.kind === "ntm") return arr(p.examples[state.input].sharpened).shape[0];
      return p.out_width;
    }));
  }
  function controls() {
    var bar = el("div", { cls: "controls" });
    var ins = el("div", { cls: "inputs", role: "group", "aria-label": "inputs" });
    DATA.inputs.forEach(function (inp, i) {
      ins.appendChild(el("button", { text: inp.label, cls: i === state.input ? "on" : "", "data-input": i,
        title: "input " + (i + 1), onclick: function () { state.input = i; state.step = Math.min(state.step, maxSteps() - 1); rerender(); } }));
    });
    bar.appendChild(ins);
    var T = maxSteps();
    var isBits = DATA.task === "bits";
    var slider = el("input", { type: "range", min: 0, max: T - 1, value: state.step, id: "step",
      "aria-label": isBits ? "time step" : "decoder step",
      oninput: function (ev) { state.step = +ev.target.value; rerender(); } });
    bar.appendChild(el("label", {}, [document.createTextNode(isBits ? "time step " : "decoder step "), slider,
      el("span", { id: "steplabel", text: " t = " + (state.step + 1) + " / " + T })]));
    if (!isBits) {
      var pad = el("input", { type: "checkbox", id: "showpad", onchange: function (ev) { state.showPad = ev.target.checked; rerender(); } });
      pad.checked = state.showPad;
      bar.appendChild(el("label", {}, [pad, document.createTextNode(" show padding")]));
      if (DATA.panels.some(function (p) { return p.reversed; })) {
        var ord = el("input", { type: "checkbox", id: "encorder", onchange: function (ev) { state.order = ev.target.checked ? "encoder" : "written"; rerender(); } });
        ord.checked = state.order === "encoder";
        bar.appendChild(el("label", {}, [ord, document.createTextNode(" encoder's order (reversed input)")]));
      }
    } else if (DATA.panels.some(function (p) { return p.read_heads > 0; })) {
      var sel = el("select", { id: "head", onchange: function (ev) { state.head = +ev.target.value; rerender(); } });
      var nr = Math.max.apply(null, DATA.panels.map(function (p) { return p.read_heads; }));
      for (var h = 0; h <= nr; h++) {
        var o = el("option", { value: h, text: h === 0 ? "write head" : "read head " + h });
        if (h === state.head) o.selected = true;
        sel.appendChild(o);
      }
      bar.appendChild(el("label", {}, [document.createTextNode("addressing of "), sel]));
    }
    return bar;
  }

  // ------------------------------------------------------------------ text models
  function columns(p, ex) {               // fed positions in display order
    var W = p.in_width, idx = [];
    for (var j = 0; j < W; j++) idx.push(p.reversed && state.order === "written" ? W - 1 - j : j);
    if (!state.showPad) idx = idx.filter(function (i) { return !ex.pad[i]; });
    return idx;
  }
  function configBox(p) {
    var d = el("details", { cls: "config" }, [el("summary", { text: "model: " + p.model.name })]);
    d.appendChild(el("code", { text: p.model.config.join(", ") }));
    return d;
  }
  function textPanel(p) {
    var ex = p.examples[state.input], cols = columns(p, ex), T = ex.out.length, t = Math.min(state.step, T - 1);
    var w = arr(ex.weights), s = arr(ex.scores), c = arr(ex.context), pr = arr(ex.probs);
    var Tin = p.in_width, V = p.vocab.length;
    var box = el("div", { cls: "panel", "data-kind": p.kind });
    box.appendChild(el("h2", { text: p.label }));
    box.appendChild(configBox(p));
    // input and output strips
    box.appendChild(el("h3", { text: "Input" }));
    var notes = [];
    if (p.reversed) notes.push(state.order === "written"
      ? "The model reads this input reversed (right to left, padding first); the small numbers are the encoder's reading order."
      : "Shown in the encoder's order: the reversed input, padding first.");
    var nPad = ex.pad.filter(Boolean).length;
    notes.push(nPad + " padding position" + (nPad === 1 ? "" : "s") + (state.showPad ? " shown (red)" : " hidden") +
      "; " + ex.mask.filter(function (m) { return !m; }).length + " masked (struck through, weight 0).");
    notes.forEach(function (n) { box.appendChild(el("p", { cls: "note", text: n })); });
    var src = el("div", { cls: "strip src" });
    cols.forEach(function (i) {
      var cell = el("span", { cls: "ch" + (ex.pad[i] ? " pad" : "") + (ex.mask[i] ? "" : " masked"), "data-pos": i });
      cell.appendChild(document.createTextNode(vis(ex.src[i])));
      cell.appendChild(el("span", { cls: "idx", text: String(i + 1) }));
      hover(cell, "encoder step " + (i + 1) + (ex.pad[i] ? " (padding)" : "") + (ex.mask[i] ? "" : " (masked)") +
        "\na = " + fmt(at(w, [t, i]), 4));
      src.appendChild(cell);
    });
    box.appendChild(src);
    box.appendChild(el("h3", { text: "Output (hover or click a character to choose the decoder step)" }));
    var out = el("div", { cls: "strip out" });
    ex.out.forEach(function (ch, i) {
      var cell = el("span", { cls: "ch" + (i === t ? " sel" : ""), "data-step": i, text: vis(ch), tabindex: 0,
        role: "button", "aria-label": "decoder step " + (i + 1) + ": " + ch,
        onmousemove: function (ev) { if (ev.pointerMoved) setStep(i); }, onclick: function () { setStep(i); },
        onkeydown: function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); setStep(i); } } });
      out.appendChild(cell);
    });
    box.appendChild(out);
    // the step
    var prev = t === 0 ? p.start : ex.out[t - 1];
    box.appendChild(el("h3", { text: "Decoder step " + (t + 1) + ": fed " + JSON.stringify(vis(prev)) +
      ", wrote " + JSON.stringify(vis(ex.out[t])) }));
    var tbl = el("table", { cls: "steptable" });
    var head = el("tr", {}, [el("th", { text: "" })]);
    cols.forEach(function (i) { head.appendChild(el("th", { text: vis(ex.src[i]), style: "text-align:center" + (ex.pad[i] ? ";color:#c92a2a" : "") })); });
    tbl.appendChild(head);
    function row(name, a, color, title) {
      var tr = el("tr", { "data-row": name }, [el("th", { text: name, title: title })]);
      var m = maxAbs(a, t * Tin, Tin);
      cols.forEach(function (i) {
        var v = at(a, [t, i]), bg = color(v, m);
        var td = el("td", { text: fmt(v, name.charAt(0) === "a" ? 2 : 1), "data-pos": i, "data-v": String(v),
          cls: (ex.pad[i] ? "pad" : "") + (ex.mask[i] ? "" : " masked"), style: "background:" + bg + ";color:" + ink(bg) });
        hover(td, name + "[" + (i + 1) + "] = " + v + (ex.mask[i] ? "" : " (masked: weight 0)"));
        tr.appendChild(td);
      });
      tbl.appendChild(tr);
    }
    if (s) row("s (score)", s, function (v, m) { return diverging(v / m); },
      p.score === "dot" ? "s = hs \u00b7 h, before the softmax" : "score (" + p.score + "), before the softmax");
    row("a (weight)", w, function (v) { return viridis(v); },
      p.kind === "transformer" ? "cross-attention of the last layer, mean over heads" : "a = softmax(s)");
    if (p.kind === "transformer")
      box.appendChild(el("p", { cls: "note", text: "a: the last decoder layer's cross-attention, mean over its heads (every head is below)." }));
    box.appendChild(el("div", { style: "overflow-x:auto" }, [tbl]));
    var hidden = 0;
    if (!state.showPad) for (var i = 0; i < Tin; i++) if (ex.pad[i]) hidden += at(w, [t, i]);
    if (!state.showPad && hidden > 0.005)
      box.appendChild(el("p", { cls: "note pad-share", text: "Hidden padding holds " + fmt(100 * hidden, 1) + " % of this step's weight." }));
    var two = el("div", { cls: "row2" });
    if (c) {
      var H = c.shape[1], order = [];
      for (var k = 0; k < H; k++) order.push(k);
      order.sort(function (x, y) { return Math.abs(at(c, [t, y])) - Math.abs(at(c, [t, x])); });
      var cm = maxAbs(c, t * H, H), cb = el("div", { cls: "bars context" });
      order.slice(0, 8).forEach(function (k) {
        var v = at(c, [t, k]);
        cb.appendChild(el("span", { text: "c[" + k + "]" }));
        cb.appendChild(el("div", {}, [el("div", { cls: "bar" + (v < 0 ? " neg" : ""), style: "width:" + (100 * Math.abs(v) / cm) + "%" })]));
        cb.appendChild(el("span", { text: fmt(v, 3), "data-v": String(v) }));
      });
      two.appendChild(el("div", {}, [el("h3", { text: "Context c = \u03a3 a\u1d62 hs\u1d62: largest of " + H }), cb]));
    }
    var order2 = [];
    for (var q = 0; q < V; q++) order2.push(q);
    order2.sort(function (x, y) { return at(pr, [t, y]) - at(pr, [t, x]); });
    var pb = el("div", { cls: "bars probs" });
    order2.slice(0, 6).forEach(function (q, r) {
      var v = at(pr, [t, q]);
      pb.appendChild(el("span", { text: JSON.stringify(vis(p.vocab[q])) + (r === 0 ? " chosen" : "") }));
      pb.appendChild(el("div", {}, [el("div", { cls: "bar" + (r === 0 ? " chosen" : ""), style: "width:" + (100 * v) + "%" })]));
      pb.appendChild(el("span", { text: fmt(v, 3), "data-v": String(v) }));
    });
    two.appendChild(el("div", {}, [el("h3", { text: "Probability of the chosen character and the runners-up" }), pb]));
    box.appendChild(two);
    // the full heatmap
    box.appendChild(el("h3", { text: "All steps: attention weights (rows: output, columns: input)" }));
    var cell = Math.max(10, Math.min(22, Math.floor(560 / Math.max(cols.length, 1))));
    box.appendChild(heatmap(ex.out, cols.map(function (i) { return ex.src[i]; }),
      function (r, j) { return at(w, [r, cols[j]]); },
      { cell: cell, rowsel: t, onrow: setStep, cls: "heatmap main", padCols: cols.map(function (i) { return ex.pad[i]; }),
        tip: function (r, j, v) { return "output " + (r + 1) + " " + JSON.stringify(vis(ex.out[r])) + ", input " +
          (cols[j] + 1) + " " + JSON.stringify(vis(ex.src[cols[j]])) + "\na = " + v; } }));
    box.appendChild(el("p", { cls: "legend", text: "colour: weight 0 (dark) \u2026 1 (yellow)" }));
    if (ex.heads) box.appendChild(headsView(p, ex, cols));
    return box;
  }

  function headsView(p, ex, cols) {
    var sec = el("div", { cls: "heads" });
    sec.appendChild(el("h3", { text: "Every layer and head (click a map to enlarge it)" }));
    var kinds = [["cross", "cross-attention"], ["enc", "encoder self-attention"], ["dec", "decoder self-attention (masked)"]];
    var tabs = el("div", { cls: "tabs" });
    kinds.forEach(function (k) {
      tabs.appendChild(el("button", { text: k[1], cls: state.kind === k[0] ? "on" : "", "data-kind": k[0],
        onclick: function () { state.kind = k[0]; state.big = null; rerender(); } }));
    });
    sec.appendChild(tabs);
    var maps = ex.heads[state.kind].map(arr), L = maps.length, h = maps[0].shape[0];
    var outLab = ex.out, startIn = [p.start].concat(ex.out.slice(0, -1));
    var rows, rowIdx, colsLab, colIdx;
    if (state.kind === "enc") { rows = cols.map(function (i) { return ex.src[i]; }); rowIdx = cols; colsLab = rows; colIdx = cols; }
    else if (state.kind === "dec") { rows = outLab; rowIdx = outLab.map(function (_, i) { return i; }); colsLab = startIn; colIdx = rowIdx; }
    else { rows = outLab; rowIdx = outLab.map(function (_, i) { return i; }); colsLab = cols.map(function (i) { return ex.src[i]; }); colIdx = cols; }
    function val(a, head, r, c) {
      if (head === "mean") { var sum = 0; for (var k = 0; k < h; k++) sum += at(a, [k, rowIdx[r], colIdx[c]]); return sum / h; }
      return at(a, [head, rowIdx[r], colIdx[c]]);
    }
    var grid = el("div", { cls: "grid", style: "grid-template-columns: max-content repeat(" + (h + 1) + ", max-content)" });
    grid.appendChild(el("span", { text: "" }));
    for (var k = 0; k < h; k++) grid.appendChild(el("div", { cls: "thumbcap", text: "head " + k }));
    grid.appendChild(el("div", { cls: "thumbcap", text: "mean" }));
    var sz = Math.max(2, Math.floor(90 / Math.max(rows.length, colsLab.length)));
    for (var l = 0; l < L; l++) {
      grid.appendChild(el("div", { cls: "thumbcap", text: "layer " + l }));
      for (var hh = 0; hh <= h; hh++) {
        (function (layer, head) {
          var svg = heatmap(rows, colsLab, function (r, c) { return val(maps[layer], head, r, c); },
            { cell: sz, noLabels: true, cls: "thumb-map" });
          var big = state.big;
          var on = big && big.layer === layer && big.head === head;
          var wrap = el("div", { cls: "thumb" + (head === "mean" ? " mean" : "") + (on ? " on" : ""),
            "data-layer": layer, "data-head": head, title: "layer " + layer + ", " + (head === "mean" ? "mean over heads" : "head " + head),
            onclick: function () { state.big = { layer: layer, head: head }; rerender(); } }, []);
          wrap.appendChild(svg);
          grid.appendChild(wrap);
        })(l, hh === h ? "mean" : hh);
      }
    }
    sec.appendChild(grid);
    if (state.big && state.big.layer < L) {
      var b = state.big, name = kinds.filter(function (k) { return k[0] === state.kind; })[0][1];
      sec.appendChild(el("h3", { text: name + ", layer " + b.layer + ", " + (b.head === "mean" ? "mean over heads" : "head " + b.head) }));
      var cell = Math.max(10, Math.min(22, Math.floor(560 / Math.max(colsLab.length, 1))));
      sec.appendChild(heatmap(rows, colsLab, function (r, c) { return val(maps[b.layer], b.head, r, c); },
        { cell: cell, cls: "heatmap big", rowsel: state.kind === "enc" ? null : Math.min(state.step, rows.length - 1),
          onrow: state.kind === "enc" ? null : setStep,
          tip: function (r, c, v) { return "query " + JSON.stringify(vis(rows[r])) + ", key " + JSON.stringify(vis(colsLab[c])) + "\nweight = " + v; } }));
    }
    return sec;
  }

  // values >= 0 as vertical bars (height: value / largest), one per row of the memory
  function barStrip(vals, cw, h, cls, tipText) {
    var m = Math.max.apply(null, vals.map(function (v) { return isFinite(v) ? v : 0; })) || 1;
    var svg = sv("svg", { width: vals.length * cw, height: h + 12, "class": cls });
    vals.forEach(function (v, r) {
      var bh = Math.max(1, h * v / m);
      svg.appendChild(sv("rect", { x: r * cw, y: 0, width: cw, height: h, fill: "#f1f3f5", "class": "slot" }));
      var rect = sv("rect", { x: r * cw + 0.5, y: h - bh, width: Math.max(1, cw - 1), height: bh, fill: viridis(v / m * 0.85 + 0.15),
                              "class": "bar-cell", "data-row": r, "data-v": String(v) });
      hover(rect, tipText.bind(null, r, v));
      svg.appendChild(rect);
    });
    [0, vals.length - 1].forEach(function (r) {
      svg.appendChild(sv("text", { x: r * cw + cw / 2, y: h + 11, "text-anchor": r ? "end" : "start", text: "row " + r }));
    });
    return svg;
  }

  // ------------------------------------------------------------------ the NTM
  function ntmPanel(p) {
    var ex = p.examples[state.input], x = arr(ex.x), y = arr(ex.outputs), tg = arr(ex.target);
    var wts = arr(ex.sharpened), mem = arr(ex.memory);   // (T, 1 + read heads, R): the write head first
    var T = wts.shape[0], R = p.rows, Wd = p.width, t = Math.min(state.step, T - 1), nr = p.read_heads;
    var head = Math.min(state.head, nr);
    var box = el("div", { cls: "panel", "data-kind": "ntm" });
    box.appendChild(el("h2", { text: p.label }));
    box.appendChild(configBox(p));
    function range(n) { var r = []; for (var i = 0; i < n; i++) r.push(String(i)); return r; }
    var times = range(T).map(function (i) { return String(+i + 1); });
    var cw = Math.max(4, Math.min(18, Math.floor(320 / T)));
    // bits over time (channels down, time across)
    var bits = el("div", { cls: "row2" });
    [["input", x], ["target", tg], ["output", y]].forEach(function (b) {
      if (!b[1]) return;
      var C = b[1].shape[1];
      bits.appendChild(el("div", {}, [el("h3", { text: b[0] }), heatmap(range(C), times, function (r, c) { return at(b[1], [c, r]); },
        { cell: cw, cellH: Math.max(6, Math.min(14, Math.floor(120 / C))), colsel: t, noLabels: true, cls: "bits " + b[0],
          color: function (v) { return v < 0 ? "#f1f3f5" : viridis(v); },
          tip: function (r, c, v) { return b[0] + " channel " + r + ", step " + (c + 1) + ": " + (v < 0 ? "not scored" : v); } })]));
    });
    box.appendChild(bits);
    // weightings over time beside the memory
    var chh = Math.max(2, Math.min(14, Math.floor(360 / R)));
    var rowsLab = range(R);
    var ws = el("div", { cls: "row2" });
    function argmax(a, off, n) { var b = 0; for (var i = 1; i < n; i++) if (a[off + i] > a[off + b]) b = i; return b; }
    function weighting(name, get) {
      return el("div", {}, [el("h3", { text: name + " (rows down, time across)" }),
        heatmap(rowsLab, times, function (r, c) { return get(c, r); },
          { cell: cw, cellH: chh, colsel: t, noLabels: true, cls: "weighting " + name.split(" ")[0],
            tip: function (r, c, v) { return name + ", row " + r + ", step " + (c + 1) + ": " + v; } })]);
    }
    ws.appendChild(weighting("write weighting", function (c, r) { return at(wts, [c, 0, r]); }));
    for (var k = 0; k < nr; k++) (function (k) {
      ws.appendChild(weighting("read weighting " + (k + 1), function (c, r) { return at(wts, [c, k + 1, r]); }));
    })(k);
    var mm = maxAbs(mem, t * R * Wd, R * Wd);
    ws.appendChild(el("div", {}, [el("h3", { text: "memory after step " + (t + 1) + " (" + R + " \u00d7 " + Wd + ")" }),
      heatmap(rowsLab, range(Wd), function (r, c) { return at(mem, [t, r, c]); },
        { cell: Math.max(3, Math.min(14, Math.floor(200 / Wd))), cellH: chh, noLabels: true, cls: "memory",
          color: function (v) { return diverging(v / mm); },
          tip: function (r, c, v) { return "memory[" + r + ", " + c + "] = " + v; } })]));
    box.appendChild(ws);
    var wpos = argmax(wts, t * (nr + 1) * R, R), rpos = [];
    for (var k2 = 0; k2 < nr; k2++) rpos.push(argmax(wts, (t * (nr + 1) + k2 + 1) * R, R));
    box.appendChild(el("p", { cls: "note positions", text: "step " + (t + 1) + ": write head at row " + wpos +
      (nr ? "; read head" + (nr > 1 ? "s" : "") + " at row " + rpos.join(", ") : "") + " (largest weight)" }));
    // addressing of one head at step t
    var S = p.shift_range, K = 2 * S + 1, hname = head === 0 ? "write head" : "read head " + head;
    var stages = [["content", "content: softmax(\u03b2 \u00b7 cosine(key, row)), \u03b2 = " + fmt(at(arr(ex.beta), [t, head]), 2)],
                  ["interpolated", "interpolated with the previous weighting, gate g = " + fmt(at(arr(ex.gate), [t, head]), 2)],
                  ["shifted", "shifted (circular convolution with the shift weights)"],
                  ["sharpened", "sharpened: w^\u03b3 renormalised, \u03b3 = " + fmt(at(arr(ex.gamma), [t, head]), 2)]];
    var ad = el("div", { cls: "addressing" });
    ad.appendChild(el("h3", { text: "Addressing of the " + hname + " at step " + (t + 1) }));
    ad.appendChild(el("p", { cls: "note", text: "One bar per memory row, each strip scaled to its largest weight (hover a bar for its value)." }));
    var scw = Math.max(3, Math.min(16, Math.floor(560 / R)));
    stages.forEach(function (st) {
      var a = arr(ex[st[0]]);
      ad.appendChild(el("p", { cls: "note", text: st[1] }));
      var vals = [];
      for (var r = 0; r < R; r++) vals.push(at(a, [t, head, r]));
      ad.appendChild(barStrip(vals, scw, 40, "stage " + st[0], function (r, v) { return st[0] + " weight of row " + r + ": " + v; }));
    });
    var sh = arr(ex.shift), sb = el("div", { cls: "bars shift" });
    for (var j = 0; j < K; j++) {
      var v = at(sh, [t, head, j]);
      sb.appendChild(el("span", { text: "shift " + (j - S > 0 ? "+" : "") + (j - S) }));
      sb.appendChild(el("div", {}, [el("div", { cls: "bar", style: "width:" + (100 * v) + "%" })]));
      sb.appendChild(el("span", { text: fmt(v, 3), "data-v": String(v) }));
    }
    ad.appendChild(el("h3", { text: "Shift distribution" }));
    ad.appendChild(sb);
    box.appendChild(ad);
    return box;
  }

  // ------------------------------------------------------------------ the page
  var panels = el("div", { cls: "panels" }), bar = null;
  function syncControls() {             // controls stay (a slider being dragged is never replaced)
    var T = maxSteps(), slider = document.getElementById("step");
    slider.max = T - 1;
    slider.value = Math.min(state.step, T - 1);
    document.getElementById("steplabel").textContent = " t = " + (Math.min(state.step, T - 1) + 1) + " / " + T;
    Array.prototype.forEach.call(bar.querySelectorAll("[data-input]"), function (b) {
      b.className = +b.getAttribute("data-input") === state.input ? "on" : "";
    });
  }
  function draw() {
    var scrollX = window.scrollX, scrollY = window.scrollY;
    syncControls();
    panels.textContent = "";
    DATA.panels.forEach(function (p) { panels.appendChild(p.kind === "ntm" ? ntmPanel(p) : textPanel(p)); });
    window.scrollTo(scrollX, scrollY);
    fitFrame();
  }
  function fitFrame() {                 // inside a notebook's (same-origin) iframe: as tall as the page
    var frame = null;
    try { frame = window.frameElement; } catch (e) { frame = null; }
    if (frame && frame.hasAttribute("data-explorer-autosize"))
      frame.style.height = (document.body.offsetHeight + 8) + "px";
  }
  root.textContent = "";
  root.appendChild(el("h1", { text: DATA.title }));
  bar = controls();
  root.appendChild(bar);
  root.appendChild(panels);
  draw();
})();
