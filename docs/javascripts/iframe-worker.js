// Search for the site opened from files (file://), with no download from another host.
//
// The theme's search runs in a Web Worker, and browsers refuse to start a worker from a
// file:// page. On such a page this script replaces `Worker` with one that runs the same
// script in a hidden iframe of the page: messages go in as "message" events on the
// iframe's window and come back through its `postMessage`. The theme's offline plugin
// would load a shim of this kind from unpkg.com; this one ships with the site instead
// (its file name says "iframe-worker", which tells the plugin not to add its own).
(function () {
  "use strict";
  if (window.location.protocol !== "file:" || typeof EventTarget === "undefined") {
    return;
  }

  class IframeWorker extends EventTarget {
    constructor(url) {
      super();
      this.onmessage = null;
      this.onerror = null;
      this._queue = [];
      this._ready = false;
      this._frame = document.createElement("iframe");
      this._frame.hidden = true;
      this._frame.setAttribute("aria-hidden", "true");
      (document.body || document.documentElement).appendChild(this._frame);
      const scope = this._frame.contentWindow;
      const worker = this;
      // What the worker script posts comes out here, as from a worker.
      scope.postMessage = function (data) {
        worker._emit(new MessageEvent("message", { data: data }));
      };
      scope.importScripts = function () {
        throw new Error("importScripts is not available to a worker in an iframe");
      };
      const script = scope.document.createElement("script");
      script.src = new URL(url, document.baseURI).href;
      script.onload = function () {
        worker._ready = true;
        worker._queue.splice(0).forEach(function (data) {
          worker.postMessage(data);
        });
      };
      script.onerror = function () {
        worker._emit(new ErrorEvent("error", { message: "cannot load " + url }));
      };
      scope.document.head.appendChild(script);
    }

    postMessage(data) {
      if (!this._ready) {
        this._queue.push(data);
        return;
      }
      const scope = this._frame.contentWindow;
      // Asynchronous, as a worker's messages are.
      setTimeout(function () {
        scope.dispatchEvent(new scope.MessageEvent("message", { data: data }));
      }, 0);
    }

    terminate() {
      this._frame.remove();
    }

    _emit(event) {
      this.dispatchEvent(event);
      const handler = event.type === "message" ? this.onmessage : this.onerror;
      if (typeof handler === "function") {
        handler.call(this, event);
      }
    }
  }

  window.Worker = IframeWorker;
})();
