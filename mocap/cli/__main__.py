from mocap.cli import main

main()
