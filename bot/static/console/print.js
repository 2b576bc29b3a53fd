/* Print layouts: a [data-print] button opens the browser's print dialog (no inline
   handlers: the console's Content-Security-Policy forbids them). */
document.addEventListener("click", function (event) {
  var target = event.target;
  if (target && target.closest && target.closest("[data-print]")) window.print();
});
