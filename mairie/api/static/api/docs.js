/* Accessibility of Swagger UI's markup that CSS cannot reach (decision 0220): the close button
   of its dialogs is an icon with no text, so screen readers announce a nameless "button". Give
   each one the label our template provides (translated), as soon as Swagger UI renders it. */
"use strict";

(() => {
  const root = document.getElementById("swagger-ui");
  if (root === null) {
    return;
  }
  const closeLabel = root.dataset.closeLabel;
  const nameCloseButtons = () => {
    for (const button of root.querySelectorAll("button.close-modal:not([aria-label])")) {
      button.setAttribute("aria-label", closeLabel);
    }
  };
  new MutationObserver(nameCloseButtons).observe(root, { childList: true, subtree: true });
  nameCloseButtons();
})();
