// Saving bytes the widgets made (an export, a picture) as a file in the user's browser. Shared
// by the SpectrumViewer and the ObjectBrowser (joined into each one's module: BUNDLES in
// campfire/views/widgets/_assets.py).

/** Offer `blob` as a download named `name` (a link clicked, its URL freed a little later). */
export function saveFile(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
